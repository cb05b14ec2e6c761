package aptest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// receive handles a POST to the shared inbox or an actor's: programmed
// failures first, then, as Mastodon does, the body cap, the signature
// (verified with the sender's fetched key), and the JSON; 202 when all hold.
func (s *Server) receive(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	if f, ok := s.nextFailure(); ok {
		s.fail(w, r, f)
		return
	}
	d := Delivery{Path: r.URL.Path, Header: r.Header.Clone(), At: time.Now()}
	d.Header.Set("Host", r.Host)
	answer := func(status int, msg string) {
		d.Status, d.Err = status, msg
		s.record(d)
		if status == http.StatusAccepted {
			w.WriteHeader(status)
			return
		}
		writeError(w, status, msg)
	}

	if name := r.PathValue("username"); name != "" && s.Actor(name) == nil {
		answer(http.StatusNotFound, "no actor "+name)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxInboxBody+1))
	if err != nil {
		answer(http.StatusBadRequest, "reading body: "+err.Error())
		return
	}
	if len(body) > maxInboxBody {
		answer(http.StatusRequestEntityTooLarge, "body larger than 1 MB")
		return
	}
	d.Body = body
	jsonErr := json.Unmarshal(body, &d.Activity)

	var owner string
	if !s.opts.unverified {
		if owner, err = s.verify(r, body); err != nil {
			answer(http.StatusUnauthorized, "Verification failed: "+err.Error())
			return
		}
		d.Verified = true
	}
	if jsonErr != nil {
		d.Activity = nil
		answer(http.StatusBadRequest, "body is not a JSON object: "+jsonErr.Error())
		return
	}
	if actor := actorOf(d.Activity); owner != "" && actor != owner {
		// Mastodon accepts the POST, then drops an activity whose actor is
		// not the signer (unless an LD signature vouches for it).
		answer(http.StatusAccepted, fmt.Sprintf("activity actor %q is not the signer %q: Mastodon would drop it", actor, owner))
		return
	}
	s.noteFollow(d.Activity)
	if s.opts.gotosocial && !s.relevant(d.Activity) {
		answer(http.StatusAccepted, "not relevant to receiver: GoToSocial drops a post that mentions none of its users "+
			"when none of them follows its sender")
		return
	}
	answer(http.StatusAccepted, "")
}

// noteFollow records that one of the server's actors now follows the
// sender of an Accept of its Follow.
func (s *Server) noteFollow(activity map[string]any) {
	if activity["type"] != "Accept" {
		return
	}
	follow, _ := activity["object"].(map[string]any)
	local, _ := follow["actor"].(string)
	if s.actorByURL(local) == nil {
		return
	}
	s.mu.Lock()
	s.follows[[2]string{local, actorOf(activity)}] = true
	s.mu.Unlock()
}

// relevant reports whether GoToSocial keeps an activity: anything but a
// Create of a post does; a post does when it mentions one of the server's
// actors or one of them follows its sender.
func (s *Server) relevant(activity map[string]any) bool {
	if activity["type"] != "Create" {
		return true
	}
	obj, ok := activity["object"].(map[string]any)
	if !ok {
		return true
	}
	tags, _ := obj["tag"].([]any)
	if m, ok := obj["tag"].(map[string]any); ok {
		tags = []any{m}
	}
	for _, t := range tags {
		tm, _ := t.(map[string]any)
		if href, _ := tm["href"].(string); tm["type"] == "Mention" && s.actorByURL(href) != nil {
			return true
		}
	}
	sender := actorOf(activity)
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.follows {
		if k[1] == sender {
			return true
		}
	}
	return false
}

// fail answers with a programmed failure.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, f failure) {
	switch f.status {
	case hang:
		// Reading the body to the end lets the server notice when the
		// client hangs up, which ends r's context.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
	case drop:
		_, _ = io.Copy(io.Discard, r.Body)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(http.ErrAbortHandler) // closes the connection too
		}
		conn.Close()
	default:
		for k, vs := range f.header {
			w.Header()[http.CanonicalHeaderKey(k)] = vs
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(f.status)
		fmt.Fprintln(w, http.StatusText(f.status))
	}
}

// actorOf returns the id of an activity's actor, given as a URI or an
// object.
func actorOf(activity map[string]any) string {
	switch a := activity["actor"].(type) {
	case string:
		return a
	case map[string]any:
		id, _ := a["id"].(string)
		return id
	}
	return ""
}
