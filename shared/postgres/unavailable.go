package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// Unavailable reports whether err (anywhere in its chain) means that the
// database could not be reached or could not serve in time, rather than
// that the query or the data was wrong: a failed connection, a refused,
// reset or closed socket, a timeout (the caller's deadline, a statement
// timeout), or a server shutting down, starting up, out of
// connections or resources. Such a failure is the platform's to fix and
// goes away by itself: the web layer answers it with 503 and Retry-After
// (or a saved copy of the page), not 500. It returns false for nil and for
// every other error (a constraint violation, a syntax error, no rows).
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			strings.HasPrefix(pgErr.Code, "53"),  // insufficient resources (too many connections, out of memory)
			strings.HasPrefix(pgErr.Code, "57P"), // shutting down, crashed, cannot connect now
			pgErr.Code == "57014":                // query canceled: a statement timeout
			return true
		}
		return false
	}
	var connectErr *pgconn.ConnectError
	var opErr *net.OpError
	var dnsErr *net.DNSError
	return errors.As(err, &connectErr) || pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, pgconn.ErrConnClosed) ||
		errors.As(err, &opErr) || errors.As(err, &dnsErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
