package aptest

import "net/http"

// routes lists every route of the fake instance.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/webfinger", s.showWebFinger)
	mux.HandleFunc("GET /.well-known/host-meta", s.showHostMeta)
	mux.HandleFunc("GET /.well-known/nodeinfo", s.showNodeInfoLinks)
	mux.HandleFunc("GET /nodeinfo/2.0", s.showNodeInfo)

	mux.HandleFunc("GET /actor", s.showInstanceActor)
	mux.HandleFunc("GET /actor/{collection}", s.showInstanceCollection)
	mux.HandleFunc("POST /actor/inbox", s.receive)
	mux.HandleFunc("POST /inbox", s.receive)

	mux.HandleFunc("GET /users/{username}", s.showActor)
	mux.HandleFunc("GET /users/{username}/{collection}", s.showCollection)
	mux.HandleFunc("GET /users/{username}/collections/{collection}", s.showCollection)
	mux.HandleFunc("POST /users/{username}/inbox", s.receive)
	mux.HandleFunc("GET /{handle}", s.showProfilePage) // /@<username>
	return mux
}
