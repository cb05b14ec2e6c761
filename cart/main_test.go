package main

import (
	"testing"

	"rose-ash.com/platform/shared/servicetest"
)

// The cart service starts through run and serves what every service must.
func TestRun(t *testing.T) {
	s := servicetest.Start(t, "cart", run, servicetest.Options{})
	servicetest.CheckPlatform(t, s)
}
