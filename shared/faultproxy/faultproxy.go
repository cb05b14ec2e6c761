// Package faultproxy is a TCP proxy for tests that must see a dependency
// (PostgreSQL, Redis) go away and come back: Cut drops every connection and
// refuses new ones (a server that is down), Freeze keeps every connection
// open but passes nothing either way and accepts new ones without ever
// connecting them (a server or network that stops answering: a black
// hole), Restore lets traffic through again.
package faultproxy

import (
	"fmt"
	"net"
	"sync"
	"testing"
)

// Proxy forwards connections from its own loopback address to a target.
type Proxy struct {
	target string
	ln     net.Listener

	mu     sync.Mutex
	cut    bool
	frozen bool
	thaw   chan struct{} // closed by Restore; replaced by Freeze
	conns  map[net.Conn]struct{}
}

// MustStart starts a proxy to target (host:port) and stops it when the test
// ends.
func MustStart(tb testing.TB, target string) *Proxy {
	tb.Helper()
	p, err := Start(target)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Close)
	return p
}

// Start starts a proxy to target (host:port) on a free loopback port, for
// programs other than tests (the benchmark's Redis-down case); stop it with
// Close. It returns an error when it cannot listen.
func Start(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p := &Proxy{target: target, ln: ln, conns: map[net.Conn]struct{}{}, thaw: make(chan struct{})}
	close(p.thaw)
	go p.serve()
	return p, nil
}

// Addr returns the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every open connection and refuses new ones until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
}

// Freeze stops all traffic without closing anything: bytes sent either way
// are held, new connections are accepted but never reach the target, until
// Restore (which lets the held bytes through) or Cut.
func (p *Proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.frozen {
		p.frozen = true
		p.thaw = make(chan struct{})
	}
}

// Restore lets traffic through again after Cut or Freeze.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
	if p.frozen {
		p.frozen = false
		close(p.thaw)
	}
}

// Close stops the proxy: no new connections, every open one closed.
func (p *Proxy) Close() {
	p.ln.Close()
	p.Cut()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.frozen { // release what waits on the freeze; it finds the proxy cut
		p.frozen = false
		close(p.thaw)
	}
}

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.forward(c)
	}
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

// wait blocks while the proxy is frozen; it reports false when the proxy
// was cut meanwhile.
func (p *Proxy) wait() bool {
	p.mu.Lock()
	thaw := p.thaw
	p.mu.Unlock()
	<-thaw
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.cut
}

func (p *Proxy) forward(client net.Conn) {
	if !p.track(client) {
		client.Close()
		return
	}
	if !p.wait() { // a connection made while frozen hangs until Restore
		client.Close()
		return
	}
	upstream, err := net.Dial("tcp", p.target)
	if err != nil || !p.track(upstream) {
		client.Close()
		if upstream != nil {
			upstream.Close()
		}
		return
	}
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				if !p.wait() {
					break
				}
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		done <- struct{}{}
	}
	go pipe(upstream, client)
	go pipe(client, upstream)
	<-done
	client.Close()
	upstream.Close()
	p.mu.Lock()
	delete(p.conns, client)
	delete(p.conns, upstream)
	p.mu.Unlock()
}
