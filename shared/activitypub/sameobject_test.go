package activitypub_test

import (
	"testing"

	"rose-ash.com/platform/shared/activitypub"
)

// An object read back from the outbox (numbers as float64) is the same as
// the one built now (ints) when only "updated" differs; any change a
// follower would see makes them differ.
func TestSameObjectIgnoresOnlyUpdated(t *testing.T) {
	sent := map[string]any{"type": "Event", "name": "Winter fair", "maximumAttendeeCapacity": float64(40),
		"updated": "2026-12-01T10:00:00Z", "tag": []any{map[string]any{"name": "#market"}}}
	now := map[string]any{"type": "Event", "name": "Winter fair", "maximumAttendeeCapacity": 40,
		"updated": "2026-12-06T10:00:00Z", "tag": []map[string]any{{"name": "#market"}}}
	if !activitypub.SameObject(sent, now) {
		t.Error("an object differing only in updated (and number types) was taken for changed")
	}
	now["name"] = "Winter fair and carols"
	if activitypub.SameObject(sent, now) {
		t.Error("a renamed object was taken for the same")
	}
}
