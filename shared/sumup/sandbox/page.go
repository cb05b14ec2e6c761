package sandbox

import (
	"html/template"
	"net/http"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/sumup"
)

// payPage is the hosted payment page: the amount, the description, and
// one button per outcome while the checkout can still change.
var payPage = template.Must(template.New("pay").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>SumUp sandbox: pay {{.Amount}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:30rem;margin:3rem auto;padding:0 1rem}
form{display:inline-block;margin:0 .5rem .5rem 0}button{font-size:1.1rem;padding:.5rem 1.2rem}
.note{color:#666;font-size:.9rem}</style></head>
<body>
<p class="note">SumUp sandbox: no money moves. Merchant {{.Merchant}}.</p>
<h1>{{.Amount}}</h1>
{{with .Description}}<p>{{.}}</p>{{end}}
{{if .Message}}<p role="status"><strong>{{.Message}}</strong></p>{{end}}
<p>Status: {{.Status}}</p>
{{if .Open}}
<form method="post" action="/pay/{{.ID}}"><button name="outcome" value="PAID">Pay</button></form>
<form method="post" action="/pay/{{.ID}}"><button name="outcome" value="FAILED">Decline</button></form>
<form method="post" action="/pay/{{.ID}}"><button name="outcome" value="EXPIRED">Let it expire</button></form>
{{else if .RedirectURL}}
<p><a href="{{.RedirectURL}}">Back to the shop</a></p>
{{end}}
</body>
</html>
`))

type payView struct {
	ID, Merchant, Description, Status, Message, RedirectURL string
	Amount                                                  models.Money
	Open                                                    bool
}

// showPayPage shows the hosted payment page of a checkout.
func (s *Server) showPayPage(w http.ResponseWriter, r *http.Request) {
	v, ok := s.payView(r.PathValue("id"), "")
	if !ok {
		http.Error(w, "No such checkout.", http.StatusNotFound)
		return
	}
	renderPay(w, http.StatusOK, v)
}

// settlePayPage applies the outcome the payer chose, then sends the
// browser to the checkout's redirect_url (303), or shows that it is done.
func (s *Server) settlePayPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	err := s.settleLocked(id, r.PostFormValue("outcome"))
	s.mu.Unlock()
	if err != nil {
		v, ok := s.payView(id, models.Message(err))
		if !ok {
			http.Error(w, models.Message(err), httpStatus(err))
			return
		}
		renderPay(w, httpStatus(err), v)
		return
	}
	v, _ := s.payView(id, "Done.")
	if v.RedirectURL != "" {
		http.Redirect(w, r, v.RedirectURL, http.StatusSeeOther)
		return
	}
	renderPay(w, http.StatusOK, v)
}

func (s *Server) payView(id, message string) (payView, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	co := s.checkouts[id]
	if co == nil {
		return payView{}, false
	}
	return payView{ID: id, Merchant: co.wire.MerchantCode, Description: co.wire.Description, Status: co.wire.Status,
		Message: message, RedirectURL: co.wire.RedirectURL, Amount: co.amount,
		Open: co.wire.Status == sumup.StatusPending || co.wire.Status == sumup.StatusFailed}, true
}

func renderPay(w http.ResponseWriter, status int, v payView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = payPage.Execute(w, v)
}
