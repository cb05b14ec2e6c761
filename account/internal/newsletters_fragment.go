package internal

import (
	"context"

	"github.com/a-h/templ"

	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/newsletters"
	"rose-ash.com/platform/shared/web"
)

// newsletterFragment renders the newsletter fragment (the blog's
// [[widget:newsletter:<slug>]]): the public list named by the request's ref
// with its subscribe form, posting to account's absolute URL (the blog's
// origin is one of the platform's, trusted by the cross-origin check). The
// same for everyone, so cached once: no address is filled in. A private or
// unknown list is not found.
func newsletterFragment(site *web.Site, store *newsletters.Store) fragments.Renderer {
	action := site.URL("account", "/newsletters/subscribe")
	source := site.URL("blog", "/")
	return func(ctx context.Context, _ *models.User) (templ.Component, error) {
		l, err := store.ListBySlug(ctx, fragments.Ref(ctx))
		if err != nil {
			return nil, err
		}
		if !l.Public {
			return nil, models.Errorf(models.ENotFound, "There is no such newsletter.")
		}
		return NewsletterWidget(l, action, source), nil
	}
}
