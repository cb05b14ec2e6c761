package mail

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	netmail "net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"rose-ash.com/platform/shared/models"
)

// DirSink is the development Sender: it writes each message as an RFC 5322
// file (name.eml) in one directory instead of sending it, and reads them
// back for a developer. It is safe for concurrent use, also by several
// processes sharing the directory.
type DirSink struct {
	dir  string
	from *netmail.Address
	dkim *DKIM
}

// Stored is a message a DirSink wrote, read back.
type Stored struct {
	// Name is the file name inside the sink's directory, the key for Read.
	Name string
	Parsed
}

// storedNameLayout makes file names sort by the time they were written.
// Fixed width (all nine fractional digits) so that string order is time
// order.
const storedNameLayout = "20060102T150405.000000000Z"

// NewDirSink returns a DirSink writing to dir, which is created (mode 0700,
// as the messages hold sign-in links) if missing. from is the sender
// address, "noreply@example.com" or "Name <noreply@example.com>". It returns
// an error for a malformed from or a directory that cannot be created.
func NewDirSink(dir, from string) (*DirSink, error) {
	addr, err := parseFrom(from)
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, errors.New("mail: mail directory: is empty")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mail: creating mail directory: %w", err)
	}
	return &DirSink{dir: dir, from: addr}, nil
}

// WithDKIM returns a sink writing to the same directory that signs each
// message with d, as SMTPSender does with SMTPConfig.DKIM, so that the
// files show the DKIM-Signature the relay would get. A nil d signs
// nothing.
func (s *DirSink) WithDKIM(d *DKIM) *DirSink {
	c := *s
	c.dkim = d
	return &c
}

// Dir returns the directory the sink writes to.
func (s *DirSink) Dir() string { return s.dir }

// Send writes m as a new .eml file. It returns an error wrapping
// ErrInvalidMessage for an invalid message (nothing is written), ctx's error
// if ctx is already done, or the file system error. The file appears
// complete or not at all: it is written under a temporary name and renamed.
func (s *DirSink) Send(ctx context.Context, m Message) error {
	if err := m.validate(); err != nil {
		return fmt.Errorf("mail: checking message: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: writing message: %w", err)
	}
	now := time.Now().UTC()
	raw, _, err := render(s.from, s.dkim, m, now)
	if err != nil {
		return err
	}
	// The random part keeps names unique when several messages (or
	// processes) share a nanosecond.
	name := now.Format(storedNameLayout) + "-" + randomHex(8) + ".eml"

	// The temporary name starts with a dot and does not end in .eml, so
	// List never shows a file that is still being written.
	tmp, err := os.CreateTemp(s.dir, ".writing-*.tmp")
	if err != nil {
		return fmt.Errorf("mail: writing message: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return fmt.Errorf("mail: writing message: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("mail: writing message: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(s.dir, name)); err != nil {
		return fmt.Errorf("mail: writing message: %w", err)
	}
	return nil
}

// List returns up to limit stored messages, newest first (all of them when
// limit <= 0). It returns an error if the directory cannot be read or a
// message in it does not parse (naming the file).
func (s *DirSink) List(limit int) ([]Stored, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("mail: listing mail directory: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Type().IsRegular() && validStoredName(e.Name()) == nil {
			names = append(names, e.Name())
		}
	}
	// Names start with the time they were written, so reverse name order
	// is newest first.
	slices.Sort(names)
	slices.Reverse(names)
	if limit > 0 && len(names) > limit {
		names = names[:limit]
	}
	out := make([]Stored, 0, len(names))
	for _, name := range names {
		st, err := s.Read(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since the directory was read
		}
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// Read returns the stored message with the given file name. A name that is
// not a plain file name ending in .eml (a path, "..", a hidden file) is
// refused with a models.EInvalid error; a name with no such message gives a
// models.ENotFound error that also matches fs.ErrNotExist under errors.Is.
// Other errors are file system or parse errors.
func (s *DirSink) Read(name string) (Stored, error) {
	if err := validStoredName(name); err != nil {
		return Stored{}, fmt.Errorf("mail: reading stored message: %w", err)
	}
	// os.OpenInRoot also refuses symlinks that lead out of the directory.
	f, err := os.OpenInRoot(s.dir, name)
	if errors.Is(err, fs.ErrNotExist) {
		return Stored{}, fmt.Errorf("mail: reading stored message: %w",
			models.Wrap(models.ENotFound, "There is no such message.", err))
	}
	if err != nil {
		return Stored{}, fmt.Errorf("mail: reading stored message %s: %w", name, err)
	}
	defer f.Close()
	p, err := ParseMessage(f)
	if err != nil {
		return Stored{}, fmt.Errorf("mail: reading stored message %s: %w", name, err)
	}
	return Stored{Name: name, Parsed: p}, nil
}

// validStoredName accepts only what Send can have written: a plain,
// non-hidden file name ending in .eml.
func validStoredName(name string) error {
	if name == "" || strings.ContainsAny(name, `/\`+"\x00") || strings.HasPrefix(name, ".") ||
		!strings.HasSuffix(name, ".eml") || !filepath.IsLocal(name) {
		return models.Errorf(models.EInvalid, "That is not a stored message name.")
	}
	return nil
}
