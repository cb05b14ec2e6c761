// Package layout holds the base page layout, partials and the shared stylesheet
// that all six Rose Ash services render through.
package layout
