package navigation_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/navigation"
)

func addItem(t *testing.T, db *pgxpool.Pool, label, url string, position int, parent *uuid.UUID) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	err := db.QueryRow(context.Background(),
		`INSERT INTO nav_items (label, url, position, parent_id) VALUES ($1, $2, $3, $4) RETURNING id`,
		label, url, position, parent).Scan(&id)
	if err != nil {
		t.Fatalf("insert %s: %v", label, err)
	}
	return id
}

// outline renders a tree as "Label[Child,Child] Label" for comparison.
func outline(items []models.NavItem) string {
	s := ""
	for i, it := range items {
		if i > 0 {
			s += " "
		}
		s += it.Label
		if len(it.Children) > 0 {
			s += "[" + outline(it.Children) + "]"
		}
	}
	return s
}

func TestNavTreeOrdersEachLevelAndNestsChildren(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	nav := navigation.New(db)

	items, err := nav.NavTree(ctx)
	if err != nil || items == nil || len(items) != 0 {
		t.Fatalf("empty navigation = %#v, %v; want an empty slice", items, err)
	}

	// Inserted out of order; equal positions fall back to the label.
	addItem(t, db, "Contact", "/contact", 40, nil)
	about := addItem(t, db, "About", "/about", 20, nil)
	addItem(t, db, "Home", "/", 10, nil)
	addItem(t, db, "Team", "/about/team", 2, &about)
	addItem(t, db, "Rose Ash", "https://rose-ash.com", 1, &about)
	addItem(t, db, "History", "/about/history", 2, &about)
	addItem(t, db, "News", "/news", 40, nil)

	items, err = nav.NavTree(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := outline(items), "Home About[Rose Ash History Team] Contact News"; got != want {
		t.Fatalf("nav tree = %q, want %q", got, want)
	}
	a := items[1]
	if a.ID != about || a.URL != "/about" || a.Position != 20 || a.ParentID.Valid {
		t.Errorf("About = %+v", a)
	}
	if c := a.Children[0]; c.ParentID.UUID != about || !c.ParentID.Valid || !c.External() {
		t.Errorf("About's first child = %+v", c)
	}

	// Removing a parent removes its children with it.
	if _, err := db.Exec(ctx, `DELETE FROM nav_items WHERE id = $1`, about); err != nil {
		t.Fatal(err)
	}
	items, err = nav.NavTree(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := outline(items), "Home Contact News"; got != want {
		t.Fatalf("after deleting About: %q, want %q", got, want)
	}
}

// The database refuses links the validation refuses, whatever writes them.
func TestNavItemsRefuseUnsafeLinks(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	for _, url := range []string{"javascript:alert(1)", "//evil.example", "/\\evil.example", "about", "/a b", ""} {
		if _, err := db.Exec(ctx, `INSERT INTO nav_items (label, url) VALUES ('x', $1)`, url); err == nil {
			t.Errorf("link %q stored", url)
		}
		if models.ValidateNavItem(models.NavItem{Label: "x", URL: url}) == nil {
			t.Errorf("link %q passes ValidateNavItem", url)
		}
	}
	if _, err := db.Exec(ctx, `INSERT INTO nav_items (label, url) VALUES ('Home', '/'), ('Home again', '/')`); err == nil {
		t.Error("the same link twice at the top level")
	}
}

func TestSaveNavReplacesTheTreeOrRefusesIt(t *testing.T) {
	ctx := context.Background()
	st := navigation.New(pgtest.MustPool(t))
	tree := []models.NavItem{
		{Label: "Home", URL: "/"},
		{Label: "Shop", URL: "/shop", Children: []models.NavItem{{Label: "Bread", URL: "/bread"}, {Label: "Honey", URL: "/honey"}}},
	}
	if err := st.SaveNav(ctx, tree); err != nil {
		t.Fatal(err)
	}
	got, err := st.NavTree(ctx)
	if err != nil || len(got) != 2 || got[1].Label != "Shop" || len(got[1].Children) != 2 || got[1].Children[1].Label != "Honey" {
		t.Fatalf("saved tree = %+v, %v", got, err)
	}
	for name, bad := range map[string][]models.NavItem{
		"javascript link": {{Label: "x", URL: "javascript:alert(1)"}},
		"third level":     {{Label: "a", URL: "/a", Children: []models.NavItem{{Label: "b", URL: "/b", Children: []models.NavItem{{Label: "c", URL: "/c"}}}}}},
		"empty label":     {{Label: " ", URL: "/"}},
	} {
		if err := st.SaveNav(ctx, bad); models.Code(err) != models.EInvalid {
			t.Errorf("%s: %v, want EInvalid", name, err)
		}
	}
	if after, _ := st.NavTree(ctx); len(after) != 2 {
		t.Fatalf("a refused save changed the tree: %+v", after)
	}
}
