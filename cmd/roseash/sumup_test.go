package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/servicetest"
	"rose-ash.com/platform/shared/sumup"
)

// roseash sumup-sandbox serves a sandbox that the platform's client, with
// the development settings, can take a checkout from at
// http://sumup.localhost:PORT, whose payment page a browser can open, and
// that stops on Ctrl-C.
func TestSumUpSandboxCommand(t *testing.T) {
	port := servicetest.FreePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &servicetest.SyncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"sumup-sandbox", "-listen", "127.0.0.1:" + port}, func(k string) string {
			if k == "APP_ENV" {
				return "development"
			}
			return ""
		}, out, out)
	}()
	base := "http://sumup.localhost:" + port
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "Ctrl-C stops it") {
		select {
		case err := <-done:
			t.Fatalf("sumup-sandbox returned early: %v\n%s", err, out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sumup-sandbox did not start:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(out.String(), base) || !strings.Contains(out.String(), config.SumUpSandboxMerchant) {
		t.Errorf("the command does not say where it serves:\n%s", out)
	}

	c := sumup.New(sumup.Options{APIURL: base, APIKey: config.SumUpSandboxKey, MerchantCode: config.SumUpSandboxMerchant})
	co, err := c.CreateCheckout(ctx, sumup.CreateRequest{Reference: "order-cmd-1", Amount: models.Money{Minor: 1250, Currency: "GBP"}, Description: "Two loaves"})
	if err != nil {
		t.Fatal(err)
	}
	if co.HostedURL != base+"/pay/"+co.ID {
		t.Errorf("hosted URL = %q, want it under %s", co.HostedURL, base)
	}
	resp, err := http.Get("http://127.0.0.1:" + port + "/pay/" + co.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "£12.50") || !strings.Contains(string(b), ">Pay</button>") {
		t.Errorf("the payment page does not show the amount and Pay:\n%s", b)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("sumup-sandbox returned %v after Ctrl-C", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sumup-sandbox did not stop")
	}
	if conn, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
		conn.Close()
		t.Error("the sandbox still listens after Ctrl-C")
	}
}

// up serves the sandbox only for the development sandbox's address.
func TestSandboxAddress(t *testing.T) {
	for _, tc := range []struct {
		env, url, want string
	}{
		{"development", "http://sumup.localhost:8007", "127.0.0.1:8007"},
		{"development", "http://sumup.localhost:9123", "127.0.0.1:9123"},
		{"development", "https://api.sumup.com", ""},
		{"development", "", ""},
		{"production", "http://sumup.localhost:8007", ""},
	} {
		cfg := &config.Config{Environment: tc.env, SumUp: config.SumUp{APIURL: tc.url}}
		if got, ok := sandboxAddress(cfg); got != tc.want || ok != (tc.want != "") {
			t.Errorf("%s %q: %q %v, want %q", tc.env, tc.url, got, ok, tc.want)
		}
	}
}
