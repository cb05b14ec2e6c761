// Package media stores uploaded images (feature images and images in posts)
// and serves them at /media/. Images are named by the SHA-256 of their bytes,
// so a name never changes meaning: the same image uploaded twice is stored
// once, two images never collide, and responses are cached forever.
//
// Every replica of a service must see the same store. DiskStore keeps the
// files in a directory (a volume shared by the replicas); an object-storage
// store (S3 and the like) can implement Store later without changing callers.
package media

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"rose-ash.com/platform/shared/models"
)

// Store keeps media files by name. Names have the form
// "ab/<lowercase letters, digits and dashes>.<jpg|png|gif|webp>" (ValidName);
// a store refuses any other name. DiskStore implements it on a directory;
// an object-storage bucket (names as keys) can implement it later.
type Store interface {
	// Put stores the bytes of r under name, replacing what was there. A
	// reader never sees a partly written file.
	Put(ctx context.Context, name string, r io.Reader) error
	// Open returns the file stored under name and its modification time.
	// For an unknown or invalid name the error satisfies
	// errors.Is(err, fs.ErrNotExist). The caller closes the file.
	Open(ctx context.Context, name string) (io.ReadSeekCloser, time.Time, error)
}

// validName is the only shape of name a store accepts: no dots other than
// the extension's, no slashes other than the one after the shard, so no
// traversal.
var validName = regexp.MustCompile(`^[a-z0-9]{2}/[a-z0-9-]+\.(jpg|png|gif|webp)$`)

// ValidName reports whether name is a media file name a store accepts.
func ValidName(name string) bool { return len(name) <= 200 && validName.MatchString(name) }

// types maps the accepted sniffed content types to file extensions.
var types = map[string]string{
	"image/jpeg": "jpg",
	"image/png":  "png",
	"image/gif":  "gif",
	"image/webp": "webp",
}

// contentTypes maps extensions back to the Content-Type served.
var contentTypes = map[string]string{
	".jpg":  "image/jpeg",
	".png":  "image/png",
	".gif":  "image/gif",
	".webp": "image/webp",
}

// DiskStore is a Store on a local directory. Files are written to a
// temporary file in the same directory and renamed into place, so readers
// (other replicas included, on a shared volume) see whole files or none.
type DiskStore struct {
	dir string
}

// NewDiskStore returns a store on dir, creating it (0755) if needed.
func NewDiskStore(dir string) (*DiskStore, error) {
	if dir == "" {
		return nil, errors.New("media: no directory given")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("media: create store directory: %w", err)
	}
	return &DiskStore{dir: dir}, nil
}

func invalidName(name string) error {
	return fmt.Errorf("media: invalid name %q: %w", name, fs.ErrNotExist)
}

// Put writes r to name atomically: a temporary file in the target
// directory, synced, then renamed over name.
func (s *DiskStore) Put(ctx context.Context, name string, r io.Reader) (err error) {
	if !ValidName(name) {
		return invalidName(name)
	}
	dir, base := path.Split(name)
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return fmt.Errorf("media: open store: %w", err)
	}
	defer root.Close()
	if err := root.MkdirAll(strings.TrimSuffix(dir, "/"), 0o755); err != nil {
		return fmt.Errorf("media: create %s: %w", dir, err)
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := dir + "." + base + "." + hex.EncodeToString(rnd[:]) + ".tmp"
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("media: create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = root.Remove(tmp)
		}
	}()
	if _, err = io.Copy(f, r); err != nil {
		return fmt.Errorf("media: write %s: %w", name, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("media: sync %s: %w", name, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("media: close %s: %w", name, err)
	}
	if err = ctx.Err(); err != nil {
		return err
	}
	if err = root.Rename(tmp, name); err != nil {
		return fmt.Errorf("media: rename into %s: %w", name, err)
	}
	return nil
}

// Open opens the file stored under name.
func (s *DiskStore) Open(ctx context.Context, name string) (io.ReadSeekCloser, time.Time, error) {
	if !ValidName(name) {
		return nil, time.Time{}, invalidName(name)
	}
	if err := ctx.Err(); err != nil {
		return nil, time.Time{}, err
	}
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("media: open store: %w", err)
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		return nil, time.Time{}, err
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		_ = f.Close()
		return nil, time.Time{}, fmt.Errorf("media: %s is not a file: %w", name, fs.ErrNotExist)
	}
	return f, st.ModTime(), nil
}

// TooLarge is the error for an image over maxBytes.
func TooLarge(maxBytes int64) error {
	return models.Errorf(models.EInvalid, "The image is larger than %s.", sizeText(maxBytes))
}

// sizeText writes a byte limit as users read it: "10 MB", "1.5 MB", "512 KB".
func sizeText(n int64) string {
	if n >= 1<<20 {
		return strconv.FormatFloat(math.Round(float64(n)/(1<<20)*10)/10, 'f', -1, 64) + " MB"
	}
	return strconv.FormatFloat(math.Round(float64(n)/(1<<10)*10)/10, 'f', -1, 64) + " KB"
}

// Save reads an image of at most maxBytes from r, checks by its content
// that it is a JPEG, PNG, GIF or WebP image, and stores it in store under
// its content name ("ab/<sha-256 hex>.png"), which it returns. An image
// already stored is not written again. A file too large or of another type
// is refused with an EInvalid error and nothing is stored.
func Save(ctx context.Context, store Store, r io.Reader, maxBytes int64) (string, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return "", TooLarge(maxBytes)
		}
		return "", models.Wrap(models.EInvalid, "The upload was interrupted; please try again.", err)
	}
	if int64(len(data)) > maxBytes {
		return "", TooLarge(maxBytes)
	}
	ext, ok := types[http.DetectContentType(data)]
	if !ok || len(data) == 0 {
		return "", models.Errorf(models.EInvalid, "Only JPEG, PNG, GIF and WebP images can be uploaded.")
	}
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	name := h[:2] + "/" + h + "." + ext
	if f, _, err := store.Open(ctx, name); err == nil {
		_ = f.Close()
		return name, nil
	}
	if err := store.Put(ctx, name, bytes.NewReader(data)); err != nil {
		return "", models.Wrap(models.EInternal, "", err)
	}
	return name, nil
}

// URL returns the path a stored name is served at.
func URL(name string) string { return "/media/" + name }

// Handler serves GET and HEAD /media/{name...} from store, with the image's
// Content-Type, a one-year immutable cache lifetime (names are content
// hashes, so they never change), nosniff, range and conditional requests.
// Unknown and invalid names get 404.
func Handler(store Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "Method not allowed.", http.StatusMethodNotAllowed)
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, "/media/")
		if !ok || !ValidName(name) {
			http.NotFound(w, r)
			return
		}
		f, mod, err := store.Open(r.Context(), name)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				http.NotFound(w, r)
				return
			}
			http.Error(w, "The image cannot be read right now.", http.StatusServiceUnavailable)
			return
		}
		defer f.Close()
		h := w.Header()
		h.Set("Content-Type", contentTypes[path.Ext(name)])
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("ETag", `"`+strings.TrimSuffix(path.Base(name), path.Ext(name))+`"`)
		http.ServeContent(w, r, name, mod, f)
	})
}
