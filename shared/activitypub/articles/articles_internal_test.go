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
	if src, _ := obj["source"].(map[string]any); src["content"] != "<p>Bring your apples.</p>" || src["mediaType"] != "text/html" {
		t.Errorf("the whole post is not the Note's source: %v", obj["source"])
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

// A post without an excerpt is introduced by the opening of its text, so
// followers still see more than a title, and an edit of it reaches them.
func TestAPostWithoutAnExcerptShowsItsOpening(t *testing.T) {
	p := &Publisher{BlogURL: "https://blog.example"}
	at := time.Now()
	long := "<h2>Why</h2><p>" + strings.Repeat("apples and pears ", 40) + "</p>"
	obj := p.article(post{ID: uuid.New(), Slug: "fruit", Title: "Fruit", HTML: long, PublishedAt: &at})
	content := obj["content"].(string)
	if !strings.Contains(content, "<p>Why apples and pears apples") || !strings.Contains(content, "…</p>") {
		t.Errorf("the opening of a post without an excerpt:\n%s", content)
	}
	if n := len([]rune(opening(long, maxOpening))); n > maxOpening {
		t.Errorf("the opening has %d characters, want at most %d", n, maxOpening)
	}
}
