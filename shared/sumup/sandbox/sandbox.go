// Package sandbox is a fake of SumUp's online payments API for development
// and tests: hosted checkouts, their payment page, the status webhooks
// with SumUp's retries, and refunds, held in memory. It follows the
// published API (../reference/sumup-openapi.json in the team's notes): the
// same paths, JSON, statuses and error answers, so the platform's client
// (shared/sumup) cannot tell it from SumUp. Test hooks make webhooks late,
// duplicated, dropped or reordered, and settle checkouts without a
// browser; they are reachable over HTTP too (POST /_sandbox/hooks).
package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/sumup"
)

// DefaultRetry is SumUp's webhook schedule: after a failed delivery, again
// after 1 minute, 5 minutes, 20 minutes and 2 hours.
var DefaultRetry = []time.Duration{time.Minute, 5 * time.Minute, 20 * time.Minute, 2 * time.Hour}

// Options configures a Server.
type Options struct {
	// MerchantCode is the only merchant the sandbox knows.
	MerchantCode string
	// APIKey is the Bearer token every API request must carry.
	APIKey string
	// PublicURL is the base of the hosted page links (hosted_checkout_url
	// is PublicURL + "/pay/{id}").
	PublicURL string
	// Retry holds the pauses before each new delivery of a webhook that
	// was not answered 2xx (DefaultRetry when nil; tests pass short ones).
	Retry []time.Duration
	// Client sends the webhooks (sumup.DefaultHTTPClient with a 10s
	// timeout when nil).
	Client *http.Client
	// Logger records deliveries (discarded when nil).
	Logger *slog.Logger
}

// Server is the sandbox, an http.Handler. It is safe for concurrent use.
type Server struct {
	opts Options
	mux  *http.ServeMux
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu        sync.Mutex
	checkouts map[string]*checkout // by id
	order     []string             // ids in creation order
	byRef     map[string]string    // checkout_reference -> id
	txns      map[string]*txn      // transaction id -> its record
	duplicate int
	delay     time.Duration
	drop      bool
	reorder   bool
	held      []webhook
}

type checkout struct {
	wire   sumup.CheckoutJSON
	amount models.Money
}

type txn struct {
	checkoutID string
	amount     models.Money
	refunds    []models.Money
}

type webhook struct{ id, url string }

// New returns an empty sandbox. Close stops its webhook deliveries.
func New(o Options) *Server {
	if o.Retry == nil {
		o.Retry = DefaultRetry
	}
	if o.Client == nil {
		o.Client = sumup.DefaultHTTPClient()
		o.Client.Timeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.PublicURL = strings.TrimSuffix(o.PublicURL, "/")
	s := &Server{opts: o, checkouts: map[string]*checkout{}, byRef: map[string]string{}, txns: map[string]*txn{}}
	s.ctx, s.stop = context.WithCancel(context.Background())
	m := http.NewServeMux()
	m.Handle("POST /v0.1/checkouts", s.authorized(s.createCheckout))
	m.Handle("GET /v0.1/checkouts", s.authorized(s.listCheckouts))
	m.Handle("GET /v0.1/checkouts/{id}", s.authorized(s.showCheckout))
	m.Handle("DELETE /v0.1/checkouts/{id}", s.authorized(s.deactivateCheckout))
	m.Handle("POST /v1.0/merchants/{merchant}/payments/{txid}/refunds", s.authorized(s.refund))
	m.HandleFunc("GET /pay/{id}", s.showPayPage)
	m.HandleFunc("POST /pay/{id}", s.settlePayPage)
	m.HandleFunc("POST /_sandbox/hooks", s.setHooks)
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	s.mux = m
	return s
}

// ServeHTTP answers the API, the hosted pages and the test hooks.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close abandons the webhooks waiting for their next try and waits for
// deliveries under way to end.
func (s *Server) Close() {
	s.stop()
	s.wg.Wait()
}

// DuplicateWebhooks makes every status change notified n times (each
// delivery with its own retries); n below 1 means once.
func (s *Server) DuplicateWebhooks(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.duplicate = n
}

// DelayWebhooks makes every webhook wait d before its first delivery.
func (s *Server) DelayWebhooks(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// DropWebhooks makes status changes send no webhook at all while drop is
// true, as when SumUp's notifications are lost: only a GET tells.
func (s *Server) DropWebhooks(drop bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop = drop
}

// Reorder(true) holds back every webhook; Reorder(false) sends the held
// ones newest first, so that notifications arrive out of order.
func (s *Server) Reorder(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reorder = on
	if on {
		return
	}
	held := s.held
	s.held = nil
	for _, h := range slices.Backward(held) {
		s.sendLocked(h)
	}
}

// Pay settles the checkout with the outcome a payer would choose on the
// hosted page, PAID, FAILED or EXPIRED, and sends its webhook. It returns
// an ENotFound error for an unknown checkout, EInvalid for another
// outcome, and EConflict for a checkout already paid or expired.
func (s *Server) Pay(id, outcome string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.settleLocked(id, outcome)
}

// Refunds returns the refunds made of the transaction, oldest first.
func (s *Server) Refunds(txid string) []models.Money {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.txns[txid]; t != nil {
		return slices.Clone(t.refunds)
	}
	return nil
}

// Checkouts returns every checkout, oldest first.
func (s *Server) Checkouts() []sumup.Checkout {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]sumup.Checkout, 0, len(s.order))
	for _, id := range s.order {
		co, _ := s.checkouts[id].wire.Checkout() // amounts were written by the sandbox
		out = append(out, co)
	}
	return out
}

// authorized answers 401 unless the request carries the API key.
func (s *Server) authorized(next http.HandlerFunc) http.Handler {
	want := []byte("Bearer " + s.opts.APIKey)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.opts.APIKey == "" || subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			writeProblem(w, http.StatusUnauthorized, "Unauthorized", "Unauthorized.", nil)
			return
		}
		next(w, r)
	})
}

func (s *Server) createCheckout(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Reference      string                `json:"checkout_reference"`
		Amount         json.Number           `json:"amount"`
		Currency       string                `json:"currency"`
		MerchantCode   string                `json:"merchant_code"`
		Description    string                `json:"description"`
		ReturnURL      string                `json:"return_url"`
		RedirectURL    string                `json:"redirect_url"`
		HostedCheckout *sumup.HostedCheckout `json:"hosted_checkout"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "INVALID", "Validation error", "body")
		return
	}
	invalid := func(code, param string) { writeError(w, http.StatusBadRequest, code, "Validation error", param) }
	switch {
	case req.Reference == "":
		invalid("MISSING", "checkout_reference")
		return
	case len(req.Reference) > 90:
		invalid("INVALID", "checkout_reference")
		return
	case req.Amount == "":
		invalid("MISSING", "amount")
		return
	case req.Currency == "":
		invalid("MISSING", "currency")
		return
	case models.ValidateCurrency(req.Currency) != nil:
		invalid("INVALID", "currency")
		return
	case req.MerchantCode == "":
		invalid("MISSING", "merchant_code")
		return
	case !absoluteURL(req.ReturnURL):
		invalid("INVALID", "return_url")
		return
	case !absoluteURL(req.RedirectURL):
		invalid("INVALID", "redirect_url")
		return
	}
	amount, err := sumup.ParseAmount(req.Amount.String(), req.Currency)
	if err != nil || amount.Minor <= 0 {
		invalid("INVALID", "amount")
		return
	}
	if req.MerchantCode != s.opts.MerchantCode {
		writeJSON(w, http.StatusForbidden, map[string]string{
			"error_message": "checkout_payments_not_allowed", "error_code": "FORBIDDEN", "status_code": "403"})
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.byRef[req.Reference]; taken {
		writeError(w, http.StatusConflict, "DUPLICATED_CHECKOUT", "Checkout with this checkout reference and pay to email already exists", "")
		return
	}
	id := uuid.NewString()
	co := &checkout{amount: amount, wire: sumup.CheckoutJSON{
		ID: id, Reference: req.Reference, Amount: sumup.FormatAmount(amount), Currency: req.Currency,
		MerchantCode: s.opts.MerchantCode, Description: req.Description, ReturnURL: req.ReturnURL,
		RedirectURL: req.RedirectURL, Status: sumup.StatusPending, Date: time.Now().UTC().Format(time.RFC3339),
	}}
	if req.HostedCheckout != nil && req.HostedCheckout.Enabled {
		co.wire.HostedCheckoutURL = s.opts.PublicURL + "/pay/" + id
	}
	s.checkouts[id] = co
	s.order = append(s.order, id)
	s.byRef[req.Reference] = id
	writeJSON(w, http.StatusCreated, co.wire)
}

func (s *Server) listCheckouts(w http.ResponseWriter, r *http.Request) {
	ref := r.URL.Query().Get("checkout_reference")
	s.mu.Lock()
	defer s.mu.Unlock()
	list := []sumup.CheckoutJSON{}
	for _, id := range s.order {
		if co := s.checkouts[id]; ref == "" || co.wire.Reference == ref {
			list = append(list, co.wire)
		}
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) showCheckout(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	co := s.checkouts[r.PathValue("id")]
	if co == nil {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "Resource not found", "")
		return
	}
	writeJSON(w, http.StatusOK, co.wire)
}

// deactivateCheckout expires a checkout that is not paid; a paid one
// answers 409 CHECKOUT_PROCESSED, as SumUp does. It sends no webhook.
func (s *Server) deactivateCheckout(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	co := s.checkouts[r.PathValue("id")]
	switch {
	case co == nil:
		writeError(w, http.StatusNotFound, "NOT_FOUND", "Resource not found", "")
		return
	case co.wire.Status == sumup.StatusPaid:
		writeError(w, http.StatusConflict, "CHECKOUT_PROCESSED", "Checkout is already processed", "")
		return
	}
	co.wire.Status = sumup.StatusExpired
	writeJSON(w, http.StatusOK, co.wire)
}

// refund refunds a transaction in full (no amount) or in part; the
// refunds never add up to more than was paid. It answers 201 {} as
// SumUp does.
func (s *Server) refund(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Amount json.Number `json:"amount"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if len(bytes.TrimSpace(body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&req); err != nil {
			writeProblem(w, http.StatusBadRequest, "Bad Request", "malformed body", nil)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.txns[r.PathValue("txid")]
	if t == nil || r.PathValue("merchant") != s.opts.MerchantCode {
		writeProblem(w, http.StatusNotFound, "Not Found", "Transaction not found", nil)
		return
	}
	left := t.amount.Minor
	for _, rf := range t.refunds {
		left -= rf.Minor
	}
	if left <= 0 {
		writeProblem(w, http.StatusConflict, "Conflict", "The transaction is not refundable in its current state", nil)
		return
	}
	amount := models.Money{Minor: left, Currency: t.amount.Currency}
	if req.Amount != "" {
		a, err := sumup.ParseAmount(req.Amount.String(), t.amount.Currency)
		if err != nil || a.Minor <= 0 {
			writeProblem(w, http.StatusBadRequest, "Bad Request", "amount must be greater than zero", nil)
			return
		}
		if a.Minor > left {
			writeProblem(w, http.StatusUnprocessableEntity, "Unprocessable Entity", "Refund failed.", []map[string]any{{
				"code": "INVALID_AMOUNT", "detail": "Amount exceeds the refundable amount", "reason": "amount_too_high",
				"max_refundable_amount": sumup.FormatAmount(models.Money{Minor: left, Currency: t.amount.Currency})}})
			return
		}
		amount = a
	}
	t.refunds = append(t.refunds, amount)
	co := s.checkouts[t.checkoutID]
	for i := range co.wire.Transactions {
		if co.wire.Transactions[i].ID == r.PathValue("txid") {
			co.wire.Transactions[i].Status = sumup.TransactionRefunded
		}
	}
	writeJSON(w, http.StatusCreated, struct{}{})
}

// settleLocked moves a checkout to outcome and sends its webhook; s.mu is
// held. A PENDING or FAILED checkout may be paid, declined or expired; a
// PAID or EXPIRED one no longer changes.
func (s *Server) settleLocked(id, outcome string) error {
	co := s.checkouts[id]
	if co == nil {
		return models.Errorf(models.ENotFound, "No checkout %s.", id)
	}
	switch outcome {
	case sumup.StatusPaid, sumup.StatusFailed, sumup.StatusExpired:
	default:
		return models.Errorf(models.EInvalid, "%q is not PAID, FAILED or EXPIRED.", outcome)
	}
	switch co.wire.Status {
	case sumup.StatusPaid:
		return models.Errorf(models.EConflict, "This checkout is already paid.")
	case sumup.StatusExpired:
		return models.Errorf(models.EConflict, "This checkout has expired.")
	}
	co.wire.Status = outcome
	if outcome != sumup.StatusExpired {
		tx := sumup.TransactionJSON{ID: uuid.NewString(), Code: transactionCode(), Amount: co.wire.Amount,
			Currency: co.wire.Currency, Timestamp: time.Now().UTC().Format(time.RFC3339Nano),
			Status: sumup.TransactionFailed, PaymentType: "ECOM"}
		if outcome == sumup.StatusPaid {
			tx.Status = sumup.TransactionSuccessful
			co.wire.TransactionID, co.wire.TransactionCode = tx.ID, tx.Code
			s.txns[tx.ID] = &txn{checkoutID: id, amount: co.amount}
		}
		co.wire.Transactions = append(co.wire.Transactions, tx)
	}
	if co.wire.ReturnURL != "" && !s.drop {
		h := webhook{id: id, url: co.wire.ReturnURL}
		if s.reorder {
			s.held = append(s.held, h)
		} else {
			s.sendLocked(h)
		}
	}
	return nil
}

// sendLocked starts the deliveries of one webhook; s.mu is held.
func (s *Server) sendLocked(h webhook) {
	n := max(s.duplicate, 1)
	delay := s.delay
	for range n {
		s.wg.Go(func() { s.deliver(h, delay) })
	}
}

// deliver posts the webhook after delay, then again after each of the
// retry pauses until one delivery is answered 2xx.
func (s *Server) deliver(h webhook, delay time.Duration) {
	body, _ := json.Marshal(map[string]string{"event_type": "CHECKOUT_STATUS_CHANGED", "id": h.id})
	if !s.sleep(delay) {
		return
	}
	for attempt := 0; ; attempt++ {
		status, err := s.post(h.url, body)
		if err == nil && status >= 200 && status < 300 {
			s.opts.Logger.Info("webhook delivered", "checkout", h.id, "url", h.url, "attempt", attempt+1)
			return
		}
		if attempt >= len(s.opts.Retry) {
			s.opts.Logger.Warn("webhook given up", "checkout", h.id, "url", h.url, "attempts", attempt+1, "status", status, "err", err)
			return
		}
		s.opts.Logger.Info("webhook failed; will retry", "checkout", h.id, "url", h.url, "attempt", attempt+1,
			"status", status, "err", err, "retry_in", s.opts.Retry[attempt])
		if !s.sleep(s.opts.Retry[attempt]) {
			return
		}
	}
}

func (s *Server) post(u string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.opts.Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, nil
}

// sleep waits d, reporting false when the sandbox closes first.
func (s *Server) sleep(d time.Duration) bool {
	if d <= 0 {
		return s.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// hooks is the JSON form of the test hooks: each field set is applied.
type hooks struct {
	DuplicateWebhooks *int    `json:"duplicate_webhooks"`
	DelayWebhooks     *string `json:"delay_webhooks"` // a Go duration, "2s"
	DropWebhooks      *bool   `json:"drop_webhooks"`
	Reorder           *bool   `json:"reorder"`
	Pay               *struct {
		ID      string `json:"id"`
		Outcome string `json:"outcome"`
	} `json:"pay"`
}

// setHooks applies the test hooks in the JSON body and answers 204, or
// 400/404/409 with the reason.
func (s *Server) setHooks(w http.ResponseWriter, r *http.Request) {
	var h hooks
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		http.Error(w, "malformed hooks: "+err.Error(), http.StatusBadRequest)
		return
	}
	var delay time.Duration
	if h.DelayWebhooks != nil {
		d, err := time.ParseDuration(*h.DelayWebhooks)
		if err != nil {
			http.Error(w, "delay_webhooks: "+err.Error(), http.StatusBadRequest)
			return
		}
		delay = d
	}
	if h.DuplicateWebhooks != nil {
		s.DuplicateWebhooks(*h.DuplicateWebhooks)
	}
	if h.DelayWebhooks != nil {
		s.DelayWebhooks(delay)
	}
	if h.DropWebhooks != nil {
		s.DropWebhooks(*h.DropWebhooks)
	}
	if h.Reorder != nil {
		s.Reorder(*h.Reorder)
	}
	if h.Pay != nil {
		if err := s.Pay(h.Pay.ID, h.Pay.Outcome); err != nil {
			http.Error(w, models.Message(err), httpStatus(err))
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func httpStatus(err error) int {
	switch models.Code(err) {
	case models.ENotFound:
		return http.StatusNotFound
	case models.EInvalid:
		return http.StatusBadRequest
	case models.EConflict:
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

func absoluteURL(s string) bool {
	if s == "" {
		return true
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func transactionCode() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes SumUp's Error (ErrorExtended with param) body.
func writeError(w http.ResponseWriter, status int, code, message, param string) {
	body := map[string]string{"error_code": code, "message": message}
	if param != "" {
		body["param"] = param
	}
	writeJSON(w, status, body)
}

// writeProblem writes an RFC 9457 problem, as SumUp's gateway and refunds
// endpoint do.
func writeProblem(w http.ResponseWriter, status int, title, detail string, errs []map[string]any) {
	body := map[string]any{"type": "https://developer.sumup.com/problem/" + strings.ToLower(strings.ReplaceAll(title, " ", "-")),
		"title": title, "status": status, "detail": detail}
	if errs != nil {
		body["errors"] = errs
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// String describes the sandbox for logs; it never shows the key.
func (s *Server) String() string {
	return fmt.Sprintf("SumUp sandbox for merchant %s at %s", s.opts.MerchantCode, s.opts.PublicURL)
}
