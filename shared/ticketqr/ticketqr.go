// Package ticketqr draws the QR codes printed on event tickets, as an SVG
// image in a data: URI (for pages and emails) or as a PNG image, both from
// the matrix go-qrcode computes.
package ticketqr

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"

	qrcode "github.com/yeqown/go-qrcode/v2"
)

// quiet is the quiet zone the standard asks for, in modules.
const quiet = 4

// modules returns text's QR code matrix (true: a dark module).
func modules(text string) ([][]bool, error) {
	q, err := qrcode.New(text)
	if err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	var m bitmapMatrix
	if err := q.Save(&m); err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	return m.bits, nil
}

// bitmapMatrix is a go-qrcode Writer that keeps the matrix's modules.
type bitmapMatrix struct{ bits [][]bool }

func (m *bitmapMatrix) Write(mat qrcode.Matrix) error { m.bits = mat.Bitmap(); return nil }

func (m *bitmapMatrix) Close() error { return nil }

// SVGDataURI returns text's QR code as an SVG image in a data: URI (the
// content security policy allows data: images): one path of unit squares
// with the quiet zone of four modules.
func SVGDataURI(text string) (string, error) {
	bits, err := modules(text)
	if err != nil {
		return "", err
	}
	size := len(bits) + 2*quiet
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges">`, size, size)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, size, size)
	for y, row := range bits {
		for x, on := range row {
			if on {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x+quiet, y+quiet)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return "data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString([]byte(b.String())), nil
}

// PNG returns text's QR code as a PNG image, 8 pixels a module with a
// quiet zone of four modules.
func PNG(text string) ([]byte, error) {
	bits, err := modules(text)
	if err != nil {
		return nil, err
	}
	const scale = 8
	size := (len(bits) + 2*quiet) * scale
	img := image.NewGray(image.Rect(0, 0, size, size))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y, row := range bits {
		for x, on := range row {
			if !on {
				continue
			}
			for dy := range scale {
				for dx := range scale {
					img.SetGray((x+quiet)*scale+dx, (y+quiet)*scale+dy, color.Gray{})
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("qr png: %w", err)
	}
	return buf.Bytes(), nil
}
