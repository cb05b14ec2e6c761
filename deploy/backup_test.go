package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runBackup runs the real scripts/backup-postgres.sh into dir with a
// stand-in docker whose `ps` prints ps and whose `exec` prints dump, or fails
// when dump is "".
func runBackup(t *testing.T, dir, ps, dump string) (string, error) {
	t.Helper()
	bin := t.TempDir()
	stub := `#!/bin/sh
case "$1" in
ps) [ -n "$STUB_PS" ] && echo "$STUB_PS"; exit 0 ;;
exec) [ -n "$STUB_DUMP" ] || { echo "pg_dump: connection refused" >&2; exit 1; }
      echo "$*" >&2; printf '%s' "$STUB_DUMP"; exit 0 ;;
esac
exit 2
`
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(stub), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(absRoot(t), "scripts", "backup-postgres.sh"), dir)
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"STUB_PS="+ps, "STUB_DUMP="+dump, "STACK=coop", "KEEP_DAYS=14")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// dumps lists the dump files in dir.
func dumps(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "roseash-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A nightly run writes a new dump taken with pg_dump inside the stack's
// PostgreSQL container and deletes dumps past the retention.
func TestBackupPostgres(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "roseash-20200101T031500Z.dump")
	recent := filepath.Join(dir, "roseash-20200120T031500Z.dump")
	for f, age := range map[string]time.Duration{old: 20 * 24 * time.Hour, recent: 3 * 24 * time.Hour} {
		if err := os.WriteFile(f, []byte("PGDMP"), 0o600); err != nil {
			t.Fatal(err)
		}
		when := time.Now().Add(-age)
		if err := os.Chtimes(f, when, when); err != nil {
			t.Fatal(err)
		}
	}
	out, err := runBackup(t, dir, "c0ffee", "PGDMP fresh dump")
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	if !strings.Contains(out, "exec c0ffee pg_dump -U roseash -d roseash --format=custom") {
		t.Errorf("pg_dump not run in the postgres container:\n%s", out)
	}
	got := dumps(t, dir)
	if len(got) != 2 || got[0] != recent {
		t.Fatalf("dumps after the run %q, want the recent one and a new one (the 20-day-old one deleted)", got)
	}
	if b, _ := os.ReadFile(got[1]); string(b) != "PGDMP fresh dump" {
		t.Errorf("new dump holds %q", b)
	}
}

// A failure says why, exits non-zero and leaves no partial dump behind.
func TestBackupPostgresFailures(t *testing.T) {
	dir := t.TempDir()
	if out, err := runBackup(t, dir, "", "x"); err == nil || !strings.Contains(out, "no running coop_postgres container") {
		t.Errorf("without a postgres container: %v\n%s", err, out)
	}
	if out, err := runBackup(t, dir, "c0ffee", ""); err == nil || !strings.Contains(out, "connection refused") {
		t.Errorf("with pg_dump failing: %v\n%s", err, out)
	}
	if got := dumps(t, dir); len(got) != 0 {
		t.Errorf("failed runs left %q", got)
	}
}
