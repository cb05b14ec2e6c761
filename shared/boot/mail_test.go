package boot

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/mail/mailtest"
)

func testDKIMKey(t *testing.T) string {
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

func newsletter(to string) mail.Message {
	return mail.Message{To: to, Subject: "Rose Ash news", Text: "The winter market opens on Saturday.\n",
		List: &mail.ListHeaders{ID: "News <news.rose-ash.test>", UnsubscribeURL: "https://account.rose-ash.test/u/1"}}
}

// In development every message, bulk or not, lands in the dev mail
// directory, signed when DKIM is configured.
func TestOpenMailDirSignsWithDKIM(t *testing.T) {
	cfg := &config.Config{
		Mail: config.Mail{Transport: "dir", Dir: filepath.Join(t.TempDir(), "mail"), From: "Rose Ash <news@rose-ash.test>",
			DKIM: config.MailDKIM{Domain: "rose-ash.test", Selector: "dev"}},
		MailDKIMPrivateKey: testDKIMKey(t),
	}
	sender, dev, bulk, err := openMail(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if dev == nil || bulk != mail.Sender(dev) || sender != mail.Sender(dev) {
		t.Fatalf("dir transport: sender %T, bulk %T, dev %v; want the one sink", sender, bulk, dev)
	}
	if err := bulk.Send(context.Background(), newsletter("ada@example.com")); err != nil {
		t.Fatal(err)
	}
	list, err := dev.List(0)
	if err != nil || len(list) != 1 {
		t.Fatalf("the dev mail page would list %v, %v", list, err)
	}
	raw, err := os.ReadFile(filepath.Join(dev.Dir(), list[0].Name))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(raw), "DKIM-Signature:") || !strings.Contains(string(raw), "d=rose-ash.test") {
		t.Errorf("the .eml is not signed for rose-ash.test:\n%s", raw)
	}
}

// With the smtp transport, bulk mail goes through a pool that keeps its
// connection between messages.
func TestOpenMailSMTPGivesAPoolForBulk(t *testing.T) {
	srv := mailtest.Start(t)
	cfg := &config.Config{Mail: config.Mail{Transport: "smtp", From: "Rose Ash <news@rose-ash.test>",
		SMTPHost: srv.Host(), SMTPPort: srv.Port(), SMTPTLS: "none", BulkConnections: 2}}
	sender, dev, bulk, err := openMail(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pool, ok := bulk.(*mail.SMTPPool)
	if !ok || dev != nil {
		t.Fatalf("smtp transport: bulk %T, dev %v; want an SMTPPool and no sink", bulk, dev)
	}
	defer pool.Close()
	if got := pool.String(); !strings.HasPrefix(got, "pool of 2 to ") {
		t.Errorf("pool = %s, want 2 connections", got)
	}
	for _, to := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		if err := bulk.Send(context.Background(), newsletter(to)); err != nil {
			t.Fatal(err)
		}
	}
	if err := sender.Send(context.Background(), newsletter("d@example.com")); err != nil {
		t.Fatal(err)
	}
	srv.WaitTotal(t, 4, 5*time.Second)
	if c := srv.Connections(); c != 2 {
		t.Errorf("%d connections, want 2: one for the three bulk messages, one for the single one", c)
	}
}
