package internal

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/newsletters"
	"rose-ash.com/platform/shared/web"
)

// maxBounceBody bounds the webhook's body.
const maxBounceBody = 1 << 20

// bounceReport is one bounce or complaint as the relay's webhook sends it.
type bounceReport struct {
	Email      string `json:"email"`
	Type       string `json:"type"`
	CampaignID string `json:"campaign_id"`
	Detail     string `json:"detail"`
}

// receiveBounces serves POST /newsletters/webhooks/bounces, the mail
// relay's report of bounces and complaints. It authenticates with
// "Authorization: Bearer <NEWSLETTER_BOUNCE_SECRET>" (401 without it, or
// when no secret is configured). The body is one JSON object or an array
// of them:
//
//	{"email": "ann@example.org", "type": "hard|soft|complaint",
//	 "campaign_id": "<uuid, optional>", "detail": "550 5.1.1 no such user"}
//
// A hard bounce or a complaint suppresses the address at once, soft ones
// after newsletters.soft_bounce_limit. All are recorded or none: a body
// that is not such JSON, or holds a report without a valid address or
// type, gets 400 with an RFC 9457 problem saying which; recorded ones get
// 200 with {"recorded": n, "suppressed": [addresses suppressed now]}.
func receiveBounces(site *web.Site, store *newsletters.Store, secret string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if secret == "" || !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(secret)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="newsletter bounces"`)
			problem(w, http.StatusUnauthorized, "The bounce webhook needs Authorization: Bearer with the shared secret.")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBounceBody))
		if err != nil {
			problem(w, http.StatusRequestEntityTooLarge, "The body is larger than 1 MB.")
			return
		}
		reports, err := parseBounces(body)
		if err != nil {
			problem(w, http.StatusBadRequest, err.Error())
			return
		}
		bs := make([]newsletters.Bounce, len(reports))
		for i, rep := range reports {
			bs[i] = newsletters.Bounce{Email: rep.Email, Kind: rep.Type, Detail: rep.Detail}
			if rep.CampaignID != "" {
				id, err := uuid.Parse(rep.CampaignID)
				if err != nil {
					problem(w, http.StatusBadRequest, "Report "+strconv.Itoa(i+1)+": campaign_id is not a UUID.")
					return
				}
				bs[i].CampaignID = &id
			}
			if _, err := bs[i].Check(); err != nil {
				problem(w, http.StatusBadRequest, "Report "+strconv.Itoa(i+1)+": "+models.Message(err))
				return
			}
		}
		suppressed, err := store.RecordBounces(r.Context(), bs)
		if models.Code(err) == models.EInvalid {
			problem(w, http.StatusBadRequest, models.Message(err))
			return
		}
		if err != nil {
			site.Logger.ErrorContext(r.Context(), "recording bounces failed", "error", err)
			problem(w, http.StatusInternalServerError, "The bounces could not be recorded; please retry.")
			return
		}
		out := struct {
			Recorded   int      `json:"recorded"`
			Suppressed []string `json:"suppressed"`
		}{Recorded: len(bs), Suppressed: []string{}}
		for i, s := range suppressed {
			if s {
				out.Suppressed = append(out.Suppressed, strings.ToLower(strings.TrimSpace(bs[i].Email)))
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}
}

// parseBounces reads one report or an array of them.
func parseBounces(body []byte) ([]bounceReport, error) {
	trimmed := strings.TrimSpace(string(body))
	dec := json.NewDecoder(strings.NewReader(trimmed))
	var reports []bounceReport
	if strings.HasPrefix(trimmed, "[") {
		if err := dec.Decode(&reports); err != nil {
			return nil, errors.New("The body is not a JSON array of bounce reports: " + err.Error())
		}
	} else {
		var one bounceReport
		if err := dec.Decode(&one); err != nil {
			return nil, errors.New("The body is not a JSON bounce report ({\"email\", \"type\", \"campaign_id\", \"detail\"}): " + err.Error())
		}
		reports = []bounceReport{one}
	}
	if dec.More() {
		return nil, errors.New("The body has more than one JSON value.")
	}
	if len(reports) == 0 {
		return nil, errors.New("The body holds no bounce report.")
	}
	return reports, nil
}

// problem writes an RFC 9457 problem document.
func problem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": http.StatusText(status), "status": status, "detail": detail})
}
