package social

import "testing"

// A post's text becomes escaped HTML in paragraphs, with links and the
// mentions that resolved.
func TestRenderText(t *testing.T) {
	mentions := map[string]mention{
		"bob@social.example": {Href: "https://social.example/users/bob", Name: "@bob@social.example", URL: "https://social.example/@bob"},
		"carol@":             {Href: "https://fed.example/users/carol", Name: "@carol@fed.example", URL: "https://fed.example/users/carol"},
	}
	for _, c := range []struct{ in, want string }{
		{"hello", "<p>hello</p>"},
		{"<script>alert(1)</script> & \"x\"", "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;x&#34;</p>"},
		{"one\ntwo\n\n\nthree", "<p>one<br>two</p><p>three</p>"},
		{"see https://example.org/a?b=1&c=2.", `<p>see <a href="https://example.org/a?b=1&amp;c=2" rel="nofollow noopener noreferrer" target="_blank">https://example.org/a?b=1&amp;c=2</a>.</p>`},
		{"(https://example.org/x)", `<p>(<a href="https://example.org/x" rel="nofollow noopener noreferrer" target="_blank">https://example.org/x</a>)</p>`},
		{"hi @bob@social.example.", `<p>hi <span class="h-card"><a href="https://social.example/@bob" class="u-url mention">@<span>bob</span></a></span>.</p>`},
		{"@Bob@Social.Example", `<p><span class="h-card"><a href="https://social.example/@bob" class="u-url mention">@<span>bob</span></a></span></p>`},
		{"@carol!", `<p><span class="h-card"><a href="https://fed.example/users/carol" class="u-url mention">@<span>carol</span></a></span>!</p>`},
		{"mail carol@social.example or @dan@nowhere.example", "<p>mail carol@social.example or @dan@nowhere.example</p>"},
		{"https://social.example/@bob", `<p><a href="https://social.example/@bob" rel="nofollow noopener noreferrer" target="_blank">https://social.example/@bob</a></p>`},
	} {
		if got := renderText(c.in, tokenize(c.in), mentions); got != c.want {
			t.Errorf("renderText(%q)\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}
