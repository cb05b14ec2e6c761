package articles

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// A blog post reaches Mastodon and GoToSocial as title, excerpt and link,
// with its image, and never behind a content warning: GoToSocial shows a
// summary (or an Article's name) as one, and Mastodon shows an Article as
// its name and a link alone.
func TestAPostIsSentAsTitleExcerptLinkAndImage(t *testing.T) {
	p := &Publisher{BlogURL: "https://blog.example/"}
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	obj := p.article(post{ID: uuid.New(), Type: "post", Slug: "cider", Title: "Cider & pressing", Excerpt: "Two days of <pressing>.",
		HTML: "<p>Bring your apples.</p>", FeatureImage: "/media/press.png", Status: "published", PublishedAt: &at,
		Tags: []tag{{Slug: "events", Name: "Events"}}})
	if obj["type"] != "Note" {
		t.Errorf("type %v: GoToSocial hides an Article behind its name, Mastodon shows only its name", obj["type"])
	}
	for _, k := range []string{"summary", "name"} {
		if v, ok := obj[k]; ok {
			t.Errorf("%s = %v: GoToSocial shows it as a content warning", k, v)
		}
	}
	content, _ := obj["content"].(string)
	for _, want := range []string{"<strong>Cider &amp; pressing</strong>", "Two days of &lt;pressing&gt;.",
		`<a href="https://blog.example/cider">https://blog.example/cider</a>`} {
		if !strings.Contains(content, want) {
			t.Errorf("content lacks %q:\n%s", want, content)
		}
	}
	if obj["url"] != "https://blog.example/cider" || obj["sensitive"] != false {
		t.Errorf("url %v, sensitive %v", obj["url"], obj["sensitive"])
	}
	att, _ := obj["attachment"].([]any)
	if len(att) != 1 {
		t.Fatalf("attachments %v, want the feature image", obj["attachment"])
	}
	if a := att[0].(map[string]any); a["type"] != "Image" || a["url"] != "https://blog.example/media/press.png" || a["mediaType"] != "image/png" || a["name"] != "Cider & pressing" {
		t.Errorf("the image attached: %v", a)
	}
	if tags, _ := obj["tag"].([]any); len(tags) != 1 || tags[0].(map[string]any)["name"] != "#Events" {
		t.Errorf("tags %v", obj["tag"])
	}
}
