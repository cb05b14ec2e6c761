package web

import (
	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/layout"
)

// Nav returns the six services as navigation links, this one marked current.
// The slice is built once and shared: callers must not modify it.
func (s *Site) Nav() []layout.Link {
	s.buildNav()
	return s.nav
}

// OtherServices returns navigation links to the five other services (shared,
// like Nav's).
func (s *Site) OtherServices() []layout.Link {
	s.buildNav()
	return s.others
}

func (s *Site) buildNav() {
	s.navOnce.Do(func() {
		for _, name := range config.Services {
			l := layout.Link{Name: name, Title: s.Config.Service(name).Title,
				URL: s.URL(name, "/"), Current: name == s.Service}
			s.nav = append(s.nav, l)
			if !l.Current {
				s.others = append(s.others, l)
			}
		}
	})
}
