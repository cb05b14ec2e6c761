// Package sumup is the platform's client for SumUp's online payments API:
// hosted checkouts (create, read, list by reference, deactivate) and
// refunds. Amounts travel as JSON numbers in major units; this package
// writes and reads them as text into models.Money's minor units, never
// through a float. The API key is sent as a Bearer token and never appears
// in an error or a log line.
//
// Errors: an answer of 4xx is an *APIError (IsDuplicate, IsNotFound), whose
// models code (ENotFound, EConflict, EInvalid, else EInternal) handlers can
// map; no answer, a timeout or a 5xx is a models.EUnavailable error whose
// message users may see.
package sumup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"rose-ash.com/platform/shared/models"
)

// Checkout statuses.
const (
	StatusPending = "PENDING"
	StatusPaid    = "PAID"
	StatusFailed  = "FAILED"
	StatusExpired = "EXPIRED"
)

// Transaction statuses.
const (
	TransactionSuccessful = "SUCCESSFUL"
	TransactionFailed     = "FAILED"
	TransactionRefunded   = "REFUNDED"
)

// UnavailableMessage is what users are shown when SumUp cannot be reached.
const UnavailableMessage = "The payment service is unavailable: try again in a moment."

// DefaultTimeout bounds one request when Options.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Options configures a Client.
type Options struct {
	// APIURL is the API's base URL, https://api.sumup.com or the sandbox's.
	APIURL string
	// APIKey is the secret API key, sent as a Bearer token.
	APIKey string
	// MerchantCode is the merchant that receives payments and refunds them.
	MerchantCode string
	// HTTP sends the requests; nil means a client that dials names under
	// .localhost on the loopback address (RFC 6761), as browsers do, so
	// that the development sandbox at sumup.localhost is reachable.
	HTTP *http.Client
	// Timeout bounds each request (DefaultTimeout when zero).
	Timeout time.Duration
}

// Client talks to SumUp's API. It is safe for concurrent use.
type Client struct {
	base     string
	key      string
	merchant string
	http     *http.Client
	timeout  time.Duration
}

// New returns a client for the API at o.APIURL.
func New(o Options) *Client {
	c := &Client{
		base:     strings.TrimSuffix(o.APIURL, "/"),
		key:      o.APIKey,
		merchant: o.MerchantCode,
		http:     o.HTTP,
		timeout:  o.Timeout,
	}
	if c.http == nil {
		c.http = DefaultHTTPClient()
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	return c
}

// MerchantCode returns the merchant the client acts for.
func (c *Client) MerchantCode() string { return c.merchant }

// CreateRequest is a new hosted checkout.
type CreateRequest struct {
	// Reference is the checkout_reference, unique per merchant (a second
	// checkout with it is refused: IsDuplicate).
	Reference string
	// Amount is what the payer is charged.
	Amount models.Money
	// Description is shown to the payer and in SumUp's reports.
	Description string
	// ReturnURL receives SumUp's CHECKOUT_STATUS_CHANGED notifications.
	ReturnURL string
	// RedirectURL is where the payer's browser goes after paying.
	RedirectURL string
}

// Checkout is a SumUp checkout as the API reports it.
type Checkout struct {
	ID           string
	Reference    string
	Status       string // PENDING, PAID, FAILED or EXPIRED
	MerchantCode string
	// HostedURL is the hosted payment page to send the payer to.
	HostedURL    string
	Amount       models.Money
	Transactions []Transaction
}

// Transaction is one payment attempt of a checkout.
type Transaction struct {
	ID     string
	Code   string // transaction_code, shown on receipts
	Status string // SUCCESSFUL, FAILED, REFUNDED...
	Amount models.Money
}

// PaidTransaction returns the transaction that took the checkout's money:
// the first SUCCESSFUL one (or REFUNDED, which was paid first), and
// whether there is one.
func (c Checkout) PaidTransaction() (Transaction, bool) {
	for _, t := range c.Transactions {
		if t.Status == TransactionSuccessful || t.Status == TransactionRefunded {
			return t, true
		}
	}
	return Transaction{}, false
}

// CreateCheckout creates a hosted checkout for the client's merchant. It
// returns an *APIError for which IsDuplicate is true when the reference is
// taken, another *APIError when SumUp refuses the request, and an
// EUnavailable error when SumUp cannot be reached.
func (c *Client) CreateCheckout(ctx context.Context, r CreateRequest) (Checkout, error) {
	body := checkoutRequest{
		Reference:      r.Reference,
		Amount:         FormatAmount(r.Amount),
		Currency:       r.Amount.Currency,
		MerchantCode:   c.merchant,
		Description:    r.Description,
		ReturnURL:      r.ReturnURL,
		RedirectURL:    r.RedirectURL,
		HostedCheckout: &HostedCheckout{Enabled: true},
	}
	var out CheckoutJSON
	if err := c.do(ctx, http.MethodPost, "/v0.1/checkouts", body, &out); err != nil {
		return Checkout{}, err
	}
	return out.Checkout()
}

// GetCheckout returns the checkout with SumUp's id. It returns an
// *APIError for which IsNotFound is true when there is none.
func (c *Client) GetCheckout(ctx context.Context, id string) (Checkout, error) {
	var out CheckoutJSON
	if err := c.do(ctx, http.MethodGet, "/v0.1/checkouts/"+url.PathEscape(id), nil, &out); err != nil {
		return Checkout{}, err
	}
	return out.Checkout()
}

// CheckoutsByReference returns the checkouts with the reference: none, or
// the one that holds it.
func (c *Client) CheckoutsByReference(ctx context.Context, ref string) ([]Checkout, error) {
	var out []CheckoutJSON
	if err := c.do(ctx, http.MethodGet, "/v0.1/checkouts?checkout_reference="+url.QueryEscape(ref), nil, &out); err != nil {
		return nil, err
	}
	list := make([]Checkout, 0, len(out))
	for _, j := range out {
		co, err := j.Checkout()
		if err != nil {
			return nil, err
		}
		list = append(list, co)
	}
	return list, nil
}

// DeactivateCheckout expires a checkout so that it can no longer be paid,
// and returns it. It returns an *APIError with status 409
// (CHECKOUT_PROCESSED) when the checkout is already paid, and one for
// which IsNotFound is true when there is none.
func (c *Client) DeactivateCheckout(ctx context.Context, id string) (Checkout, error) {
	var out CheckoutJSON
	if err := c.do(ctx, http.MethodDelete, "/v0.1/checkouts/"+url.PathEscape(id), nil, &out); err != nil {
		return Checkout{}, err
	}
	return out.Checkout()
}

// Refund refunds the transaction in full when amount is nil, otherwise by
// *amount. It returns an *APIError when SumUp refuses: 404 for a
// transaction of another merchant or none, 409 when nothing is left to
// refund, 422 or 400 for an amount above what is left or not positive.
func (c *Client) Refund(ctx context.Context, transactionID string, amount *models.Money) error {
	var body refundRequest
	if amount != nil {
		body.Amount = FormatAmount(*amount)
	}
	path := "/v1.0/merchants/" + url.PathEscape(c.merchant) + "/payments/" + url.PathEscape(transactionID) + "/refunds"
	return c.do(ctx, http.MethodPost, path, body, nil)
}

// do sends one request and decodes a 2xx answer's JSON into out (when not
// nil). See the package comment for its errors.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return models.Wrap(models.EInternal, "Could not prepare the payment request.", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return models.Wrap(models.EInternal, "Could not prepare the payment request.", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return unavailable(fmt.Errorf("sumup: %s %s: %w", method, path, scrub(err)))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return unavailable(fmt.Errorf("sumup: %s %s: reading the answer: %w", method, path, scrub(err)))
	}
	switch {
	case resp.StatusCode >= 500:
		return unavailable(fmt.Errorf("sumup: %s %s: %s", method, path, resp.Status))
	case resp.StatusCode >= 300:
		return apiError(resp.StatusCode, raw)
	}
	if out == nil || len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return unavailable(fmt.Errorf("sumup: %s %s: malformed answer: %w", method, path, err))
	}
	return nil
}

func unavailable(err error) error {
	return models.Wrap(models.EUnavailable, UnavailableMessage, err)
}

// scrub keeps a transport error's cause but drops the request URL that
// *url.Error repeats, so errors stay short; the key is never in a URL.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// APIError is SumUp's refusal of a request (an answer of 4xx).
type APIError struct {
	// Status is the HTTP status.
	Status int
	// Code is SumUp's error_code (DUPLICATED_CHECKOUT, NOT_FOUND,
	// CHECKOUT_PROCESSED, INVALID_AMOUNT...), or for problem answers
	// without one their title in upper case (CONFLICT).
	Code string
	// Message is SumUp's message or detail.
	Message string
}

// Error describes the refusal.
func (e *APIError) Error() string {
	return fmt.Sprintf("sumup: %d %s: %s", e.Status, e.Code, e.Message)
}

// Unwrap gives the refusal a models error code for handlers: ENotFound
// for 404, EConflict for 409, EInvalid for 400 and 422, EInternal for the
// rest (401 and 403 mean the platform's own settings are wrong).
func (e *APIError) Unwrap() error {
	switch e.Status {
	case http.StatusNotFound:
		return models.Errorf(models.ENotFound, "The payment was not found.")
	case http.StatusConflict:
		return models.Errorf(models.EConflict, "The payment service refused: the payment has changed meanwhile.")
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return models.Errorf(models.EInvalid, "The payment service refused the amount or details.")
	}
	return models.Errorf(models.EInternal, "The payment service refused the request.")
}

// IsDuplicate reports whether err is SumUp's refusal of a checkout whose
// reference is taken.
func IsDuplicate(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Code == "DUPLICATED_CHECKOUT"
}

// IsNotFound reports whether err is SumUp's answer that the checkout or
// transaction does not exist.
func IsNotFound(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

func apiError(status int, raw []byte) *APIError {
	var body struct {
		ErrorCode    string `json:"error_code"`
		Message      string `json:"message"`
		ErrorMessage string `json:"error_message"`
		Title        string `json:"title"`
		Detail       string `json:"detail"`
		Errors       []struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
		} `json:"errors"`
	}
	_ = json.Unmarshal(raw, &body) // a body that is not JSON leaves the status alone
	e := &APIError{Status: status, Code: body.ErrorCode, Message: body.Message}
	if e.Code == "" && len(body.Errors) > 0 {
		e.Code, e.Message = body.Errors[0].Code, body.Errors[0].Detail
	}
	if e.Code == "" && body.Title != "" {
		e.Code = strings.ToUpper(strings.ReplaceAll(body.Title, " ", "_"))
	}
	if e.Message == "" {
		e.Message = body.Detail
	}
	if e.Message == "" {
		e.Message = body.ErrorMessage
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// The wire forms, shared with the sandbox so both speak the same JSON.

// HostedCheckout is the hosted_checkout object of a checkout request.
type HostedCheckout struct {
	Enabled bool `json:"enabled"`
}

type checkoutRequest struct {
	Reference      string          `json:"checkout_reference"`
	Amount         json.Number     `json:"amount"`
	Currency       string          `json:"currency"`
	MerchantCode   string          `json:"merchant_code"`
	Description    string          `json:"description,omitempty"`
	ReturnURL      string          `json:"return_url,omitempty"`
	RedirectURL    string          `json:"redirect_url,omitempty"`
	HostedCheckout *HostedCheckout `json:"hosted_checkout,omitempty"`
}

type refundRequest struct {
	Amount json.Number `json:"amount,omitempty"`
}

// CheckoutJSON is a checkout as the API writes it; the sandbox answers
// with it and the client reads it.
type CheckoutJSON struct {
	ID                string            `json:"id"`
	Reference         string            `json:"checkout_reference"`
	Amount            json.Number       `json:"amount"`
	Currency          string            `json:"currency"`
	MerchantCode      string            `json:"merchant_code"`
	Description       string            `json:"description,omitempty"`
	ReturnURL         string            `json:"return_url,omitempty"`
	RedirectURL       string            `json:"redirect_url,omitempty"`
	Status            string            `json:"status"`
	Date              string            `json:"date,omitempty"`
	HostedCheckoutURL string            `json:"hosted_checkout_url,omitempty"`
	TransactionID     string            `json:"transaction_id,omitempty"`
	TransactionCode   string            `json:"transaction_code,omitempty"`
	Transactions      []TransactionJSON `json:"transactions,omitempty"`
}

// TransactionJSON is a transaction as the API writes it inside a checkout.
type TransactionJSON struct {
	ID          string      `json:"id"`
	Code        string      `json:"transaction_code"`
	Amount      json.Number `json:"amount"`
	Currency    string      `json:"currency"`
	Timestamp   string      `json:"timestamp,omitempty"`
	Status      string      `json:"status"`
	PaymentType string      `json:"payment_type,omitempty"`
}

// Checkout converts the wire form, reading amounts exactly. It returns an
// EUnavailable error for an amount it cannot read, as for any malformed
// answer.
func (j CheckoutJSON) Checkout() (Checkout, error) {
	amount, err := ParseAmount(j.Amount.String(), j.Currency)
	if err != nil {
		return Checkout{}, unavailable(fmt.Errorf("sumup: checkout %s: %w", j.ID, err))
	}
	co := Checkout{ID: j.ID, Reference: j.Reference, Status: j.Status, MerchantCode: j.MerchantCode,
		HostedURL: j.HostedCheckoutURL, Amount: amount}
	for _, t := range j.Transactions {
		cur := t.Currency
		if cur == "" {
			cur = j.Currency
		}
		a, err := ParseAmount(t.Amount.String(), cur)
		if err != nil {
			return Checkout{}, unavailable(fmt.Errorf("sumup: transaction %s: %w", t.ID, err))
		}
		co.Transactions = append(co.Transactions, Transaction{ID: t.ID, Code: t.Code, Status: t.Status, Amount: a})
	}
	// Some answers name the paid transaction at the top level only.
	if len(co.Transactions) == 0 && j.TransactionID != "" && j.Status == StatusPaid {
		co.Transactions = []Transaction{{ID: j.TransactionID, Code: j.TransactionCode, Status: TransactionSuccessful, Amount: amount}}
	}
	return co, nil
}

// DefaultHTTPClient returns the HTTP client New uses when Options.HTTP is
// nil: names under .localhost are dialled on 127.0.0.1, which Go's
// resolver does not do by itself, and never through a proxy.
func DefaultHTTPClient() *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{
		Proxy: func(r *http.Request) (*url.URL, error) {
			if IsLocalhost(r.URL.Hostname()) {
				return nil, nil
			}
			return http.ProxyFromEnvironment(r)
		},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if host, port, err := net.SplitHostPort(addr); err == nil && IsLocalhost(host) {
				addr = net.JoinHostPort("127.0.0.1", port)
			}
			return d.DialContext(ctx, network, addr)
		},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 8,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 5 * time.Second,
	}}
}

// IsLocalhost reports whether host is localhost or a name under
// .localhost, which always mean this machine (RFC 6761).
func IsLocalhost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}
