package config

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func dkimKeyPEM(t *testing.T) string {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// dkimEnv is a valid environment signing mail for the checked-in From
// address's domain.
func dkimEnv(t *testing.T, key string) map[string]string {
	env := validEnv(t)
	env["MAIL_FROM"] = "Rose Ash <news@mail.rose-ash.com>"
	env["MAIL_DKIM_DOMAIN"] = "rose-ash.com"
	env["MAIL_DKIM_SELECTOR"] = "news2026"
	env["MAIL_DKIM_PRIVATE_KEY"] = key
	return env
}

func TestMailDKIMSettings(t *testing.T) {
	key := dkimKeyPEM(t)
	c, err := Load(envOf(dkimEnv(t, key)))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Mail.DKIM.Domain != "rose-ash.com" || c.Mail.DKIM.Selector != "news2026" || strings.TrimSpace(c.MailDKIMPrivateKey) != strings.TrimSpace(key) {
		t.Errorf("dkim = %+v, key set %v", c.Mail.DKIM, c.MailDKIMPrivateKey != "")
	}

	// From a secret file.
	env := dkimEnv(t, "")
	delete(env, "MAIL_DKIM_PRIVATE_KEY")
	f := filepath.Join(t.TempDir(), "dkim.pem")
	if err := os.WriteFile(f, []byte(key), 0o600); err != nil {
		t.Fatal(err)
	}
	env["MAIL_DKIM_PRIVATE_KEY_FILE"] = f
	if c, err := Load(envOf(env)); err != nil || c.MailDKIMPrivateKey != strings.TrimSpace(key) {
		t.Errorf("key from file: %v", err)
	}

	// On one line, as an env file holds it.
	oneLine := strings.ReplaceAll(strings.TrimSpace(key), "\n", `\n`)
	if c, err := Load(envOf(dkimEnv(t, oneLine))); err != nil || c.MailDKIMPrivateKey != strings.TrimSpace(key) {
		t.Errorf("key with \\n escapes: %v", err)
	}

	// Off by default, and the checked-in file's bulk connections apply.
	c, err = Load(envOf(validEnv(t)))
	if err != nil {
		t.Fatal(err)
	}
	if c.Mail.DKIM.Domain != "" || c.MailDKIMPrivateKey != "" {
		t.Errorf("DKIM is on by default: %+v", c.Mail.DKIM)
	}
	if c.Mail.BulkConnections != 4 {
		t.Errorf("bulk connections = %d, want 4", c.Mail.BulkConnections)
	}
}

func TestMailDKIMErrorsNameTheSetting(t *testing.T) {
	key := dkimKeyPEM(t)
	tests := []struct {
		name  string
		edit  func(map[string]string)
		wants []string
	}{
		{"domain without selector", func(e map[string]string) { delete(e, "MAIL_DKIM_SELECTOR") }, []string{"mail.dkim.selector", "MAIL_DKIM_SELECTOR", "missing"}},
		{"domain without key", func(e map[string]string) { delete(e, "MAIL_DKIM_PRIVATE_KEY") }, []string{"MAIL_DKIM_PRIVATE_KEY", "missing"}},
		{"key without domain", func(e map[string]string) { delete(e, "MAIL_DKIM_DOMAIN"); delete(e, "MAIL_DKIM_SELECTOR") }, []string{"mail.dkim.domain", "MAIL_DKIM_DOMAIN", "missing"}},
		{"selector without domain", func(e map[string]string) { delete(e, "MAIL_DKIM_DOMAIN"); delete(e, "MAIL_DKIM_PRIVATE_KEY") }, []string{"mail.dkim.domain", "MAIL_DKIM_DOMAIN"}},
		{"malformed key", func(e map[string]string) {
			e["MAIL_DKIM_PRIVATE_KEY"] = strings.Replace(key, "PRIVATE KEY-----\n", "PRIVATE KEY-----\nAAAA", 1)
		}, []string{"MAIL_DKIM_PRIVATE_KEY", "dkim private key"}},
		{"not PEM", func(e map[string]string) { e["MAIL_DKIM_PRIVATE_KEY"] = "hunter2hunter2hunter2" }, []string{"MAIL_DKIM_PRIVATE_KEY", "PEM"}},
		{"unreadable key file", func(e map[string]string) {
			delete(e, "MAIL_DKIM_PRIVATE_KEY")
			e["MAIL_DKIM_PRIVATE_KEY_FILE"] = "/nonexistent/dkim.pem"
		}, []string{"MAIL_DKIM_PRIVATE_KEY_FILE", "/nonexistent/dkim.pem"}},
		{"bad selector", func(e map[string]string) { e["MAIL_DKIM_SELECTOR"] = "news 2026" }, []string{"mail.dkim.selector", "MAIL_DKIM_SELECTOR"}},
		{"bad domain", func(e map[string]string) { e["MAIL_DKIM_DOMAIN"] = "rose ash.com" }, []string{"mail.dkim.domain", "MAIL_DKIM_DOMAIN"}},
		{"domain not the sender's", func(e map[string]string) { e["MAIL_DKIM_DOMAIN"] = "example.org" }, []string{"mail.dkim.domain", "mail.rose-ash.com", "DMARC"}},
		{"too many bulk connections", func(e map[string]string) { e["MAIL_BULK_CONNECTIONS"] = "500" }, []string{"mail.bulk_connections", "MAIL_BULK_CONNECTIONS"}},
		{"malformed bulk connections", func(e map[string]string) { e["MAIL_BULK_CONNECTIONS"] = "many" }, []string{"MAIL_BULK_CONNECTIONS", "many"}},
	}
	keyBody := strings.Split(key, "\n")[1]
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := dkimEnv(t, key)
			tt.edit(env)
			_, err := Load(envOf(env))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), keyBody[:20]) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error quotes the key: %v", err)
			}
		})
	}
}
