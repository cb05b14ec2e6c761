package scrape

import (
	"bytes"
	"encoding/xml"
	"net/url"
)

// isSitemap reports whether body is an XML sitemap or sitemap index.
func isSitemap(body []byte) bool {
	head := bytes.TrimLeft(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(head) > 4096 {
		head = head[:4096]
	}
	return (bytes.HasPrefix(head, []byte("<?xml")) || bytes.HasPrefix(head, []byte("<urlset")) || bytes.HasPrefix(head, []byte("<sitemapindex"))) &&
		(bytes.Contains(head, []byte("<urlset")) || bytes.Contains(head, []byte("<sitemapindex")))
}

// readSitemap puts a sitemap's <url><loc> into Page.ProductURLs and a
// sitemap index's <sitemap><loc> into Page.Sitemaps.
func readSitemap(body []byte, base *url.URL, page *Page) error {
	var sm struct {
		URLs []struct {
			Loc string `xml:"loc"`
		} `xml:"url"`
		Sitemaps []struct {
			Loc string `xml:"loc"`
		} `xml:"sitemap"`
	}
	if err := xml.Unmarshal(body, &sm); err != nil {
		return err
	}
	x := &extraction{page: page, base: base}
	for _, u := range sm.URLs {
		page.ProductURLs = append(page.ProductURLs, x.resolve(u.Loc))
	}
	for _, s := range sm.Sitemaps {
		page.Sitemaps = append(page.Sitemaps, x.resolve(s.Loc))
	}
	page.ProductURLs = uniqueURLs(page.ProductURLs)
	page.Sitemaps = uniqueURLs(page.Sitemaps)
	return nil
}
