// Package models holds the platform's domain types and their validation.
// It knows nothing of SQL or HTTP.
package models

import (
	"errors"
	"fmt"
)

// ErrorCode classifies a domain error; the web layer maps each code to an
// HTTP status and the page or problem message a user sees.
type ErrorCode string

// The error codes every service uses.
const (
	ENotFound        ErrorCode = "not_found"
	EInvalid         ErrorCode = "invalid"
	EConflict        ErrorCode = "conflict"
	EForbidden       ErrorCode = "forbidden"
	EUnauthenticated ErrorCode = "unauthenticated"
	EUnavailable     ErrorCode = "unavailable"
	EInternal        ErrorCode = "internal"
)

// Error is a domain error: a code, a message that is safe to show to users,
// and optionally the internal cause, which is logged but never shown.
type Error struct {
	Code    ErrorCode
	Message string
	Err     error
}

// Error returns the public message followed by the internal cause, if any.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns a domain error with the given code and a formatted,
// user-safe message.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns a domain error with the given code and user-safe message
// that keeps err as its internal cause.
func Wrap(code ErrorCode, message string, err error) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// Code returns the code of the first domain error in err's chain, EInternal
// for any other non-nil error, and "" for nil.
func Code(err error) ErrorCode {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// Message returns the user-safe message of the first domain error in err's
// chain; for internal errors it returns a generic message, never the cause.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != EInternal && e.Message != "" {
		return e.Message
	}
	return "Something went wrong on our side. Please try again in a moment."
}
