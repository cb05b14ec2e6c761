package postgres

import (
	"net"
	"testing"
	"time"
)

// A pooled connection whose socket another goroutine is reading (pgx's
// background reader, started by a write that stalled on a busy machine)
// is still checked at once: open while the server is quiet, closed once it
// hangs up. Checking it used to wait for that Read to end, which on an
// idle connection is never.
func TestSocketOpenDoesNotWaitForAReader(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server := <-accepted

	go func() { _, _ = client.Read(make([]byte, 1)) }() // blocks: the server says nothing
	time.Sleep(50 * time.Millisecond)

	check := func() bool {
		done := make(chan bool, 1)
		go func() { done <- socketOpen(client) }()
		select {
		case open := <-done:
			return open
		case <-time.After(5 * time.Second):
			t.Fatal("socketOpen waited for the other goroutine's Read")
			return false
		}
	}
	if !check() {
		t.Fatal("an idle connection was reported closed")
	}
	server.Close()
	time.Sleep(50 * time.Millisecond)
	if check() {
		t.Fatal("a connection the server closed was reported open")
	}
}
