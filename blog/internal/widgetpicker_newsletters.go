package internal

import (
	"context"
	"strings"
)

// newslettersFound returns, for the widget picker, the public newsletter
// lists whose name or slug contains q ([[widget:newsletter:<slug>]]);
// without q, every public list (up to pickerLimit). Private lists are
// never offered: their widget renders nothing. Never nil.
func (p widgetPicker) newslettersFound(ctx context.Context, q string) ([]pickedMarket, error) {
	out := []pickedMarket{}
	if p.newsletters == nil {
		return out, nil
	}
	lists, err := p.newsletters.PublicLists(ctx)
	if err != nil {
		return nil, err
	}
	lower := strings.ToLower(q)
	for _, l := range lists {
		if len(out) == pickerLimit {
			break
		}
		if strings.Contains(strings.ToLower(l.Name), lower) || strings.Contains(l.Slug, lower) {
			out = append(out, pickedMarket{Slug: l.Slug, Name: l.Name})
		}
	}
	return out, nil
}
