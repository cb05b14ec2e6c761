package internal

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestWidgetPlaceholdersRenderNothingAndAreLoggedOnce(t *testing.T) {
	var logs bytes.Buffer
	wg := &widgets{logger: slog.New(slog.NewTextHandler(&logs, nil))}
	html := `<p>Before</p><p>[[widget:events-calendar:community]]</p><p>After [[widget:x:y]] inline</p><p> [[widget:events-calendar:other]] </p>`
	got := wg.render(context.Background(), html)
	if want := `<p>Before</p><p>After [[widget:x:y]] inline</p>`; got != want {
		t.Fatalf("render = %q, want %q", got, want)
	}
	if n := strings.Count(logs.String(), "widget=events-calendar"); n != 1 {
		t.Fatalf("logged %d times, want once:\n%s", n, logs.String())
	}
}
