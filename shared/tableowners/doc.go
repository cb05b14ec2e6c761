// Package tableowners holds the platform's rule of one writer per table,
// as a test: every table of the schema has one owner package (named in
// tableowners_test.go and in docs/DECISIONS.md), and an INSERT, UPDATE,
// DELETE or TRUNCATE of a table in any other package's non-test Go source
// fails `go test`, naming the file, the line, the table and its owner. A
// table of schema.sql or a migration without an owner fails too, and so
// does an owner whose package comment does not name its tables, or a
// DECISIONS.md table that says otherwise. Other packages write a table by
// calling its owner. It has no code of its own to import.
package tableowners
