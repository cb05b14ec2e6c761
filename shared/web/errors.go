package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"rose-ash.com/platform/shared/layout"
	"rose-ash.com/platform/shared/logging"
	"rose-ash.com/platform/shared/models"
)

// Status returns the HTTP status for a domain error code.
func Status(code models.ErrorCode) int {
	switch code {
	case models.ENotFound:
		return http.StatusNotFound
	case models.EInvalid:
		return http.StatusUnprocessableEntity
	case models.EConflict:
		return http.StatusConflict
	case models.EForbidden:
		return http.StatusForbidden
	case models.EUnauthenticated:
		return http.StatusUnauthorized
	case models.EUnavailable:
		return http.StatusServiceUnavailable
	case errMethod:
		return http.StatusMethodNotAllowed
	}
	return http.StatusInternalServerError
}

// Error answers a request with the page (or, for clients asking for JSON, the
// RFC 9457 problem document) for err's domain code. Only internal errors are
// logged, with their cause; users see the code's safe message and the
// request id to quote. An error caused by a database that cannot be reached
// (postgres.Unavailable) is not internal: a GET of a page is answered with
// its saved copy when SavedPage has one, anything else with 503 and
// Retry-After; such failures are logged as a warning at most every ten
// seconds. Every 503 carries Retry-After (a handler may set its own first).
func (s *Site) Error(w http.ResponseWriter, r *http.Request, err error) {
	err, dbAway := databaseAway(err)
	if dbAway && s.serveSaved(w, r) {
		s.outage.log(r.Context(), s, r, err, "saved copy")
		return
	}
	code := models.Code(err)
	status := Status(code)
	msg := models.Message(err)
	reqID := logging.RequestID(r.Context())
	switch {
	case dbAway:
		s.outage.log(r.Context(), s, r, err, strconv.Itoa(status))
	case status >= 500:
		s.Logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		retry := "5"
		if dbAway {
			retry = databaseRetryAfter
		}
		w.Header().Set("Retry-After", retry)
	}
	if wantsJSON(r) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"type": "about:blank", "title": http.StatusText(status), "status": status,
			"detail": msg, "code": code, "request_id": reqID,
		})
		return
	}
	var buf bytes.Buffer
	if err := layout.ErrorPage(s.Page(r, http.StatusText(status)), status, http.StatusText(status), msg, reqID).Render(r.Context(), &buf); err != nil {
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func wantsJSON(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "application/json") || strings.Contains(accept, "application/problem+json") ||
		strings.Contains(accept, "application/activity+json") || strings.Contains(accept, "application/ld+json")
}
