package main

import (
	"testing"

	"rose-ash.com/platform/shared/servicetest"
)

// The account service starts through run and serves what every service must.
func TestRun(t *testing.T) {
	s := servicetest.Start(t, "account", run, servicetest.Options{})
	servicetest.CheckPlatform(t, s)
}
