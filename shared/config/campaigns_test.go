package config

import (
	"strings"
	"testing"
	"time"
)

func TestCampaignSendingSettings(t *testing.T) {
	c, err := Load(envOf(validEnv(t)))
	if err != nil {
		t.Fatal(err)
	}
	n := c.Newsletters
	if n.SendRate != 10 || n.WindowCap != 10000 || n.Window.Std() != time.Hour || n.Concurrency != 4 {
		t.Errorf("checked-in campaign settings: %+v", n)
	}
	env := validEnv(t)
	env["NEWSLETTER_SEND_RATE"] = "0"
	env["NEWSLETTER_WINDOW_CAP"] = "500"
	env["NEWSLETTER_WINDOW"] = "10m"
	env["NEWSLETTER_CONCURRENCY"] = "16"
	if c, err = Load(envOf(env)); err != nil {
		t.Fatal(err)
	}
	if n := c.Newsletters; n.SendRate != 0 || n.WindowCap != 500 || n.Window.Std() != 10*time.Minute || n.Concurrency != 16 {
		t.Errorf("from the environment: %+v", n)
	}
	for k, v := range map[string]string{"NEWSLETTER_SEND_RATE": "-1", "NEWSLETTER_WINDOW_CAP": "-5",
		"NEWSLETTER_WINDOW": "10s", "NEWSLETTER_CONCURRENCY": "500"} {
		env := validEnv(t)
		env[k] = v
		_, err := Load(envOf(env))
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v, want an error naming it", k, v, err)
		}
	}
}
