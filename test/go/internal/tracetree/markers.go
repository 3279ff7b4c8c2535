package tracetree

import (
	"fmt"
	"net/url"
	"strings"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// MarkerCheck describes concurrent requests that each carry a unique marker
// into both the request (its URL) and the calls its handler makes (their
// URLs, SQL text...), so that the spans belonging together can be found
// without trusting the tracer's links.
type MarkerCheck struct {
	Markers []string
	// Parent selects the spans that are to be the parents, e.g.
	// Server("/client"); Child the spans that are to be their children,
	// e.g. Kind(ptrace.SpanKindClient). Neither may be nil.
	Parent, Child Match
	// ParentText and ChildText give the text in which a marker is looked
	// for; nil means ServerURL and ClientURL.
	ParentText, ChildText func(*Node) string
	// ChildrenPerMarker is how many children each marker must have; 0
	// means at least one.
	ChildrenPerMarker int
}

// ServerURL is a server span's url.path and url.query, unescaped.
func ServerURL(n *Node) string {
	return unescape(n.Attr("url.path")) + "?" + unescape(n.Attr("url.query"))
}

// ClientURL is a client span's url.full, unescaped.
func ClientURL(n *Node) string { return unescape(n.Attr("url.full")) }

// unescape undoes URL encoding until nothing changes, so a marker inside
// an encoded ?url= parameter is found too; text that is not valid URL
// encoding is left as it is.
func unescape(s string) string {
	for i := 0; i < 3; i++ {
		u, err := url.QueryUnescape(s)
		if err != nil || u == s {
			return s
		}
		s = u
	}
	return s
}

// Carries reports whether marker occurs in text as a whole token: not
// preceded or followed by a letter or digit, so that marker m1 is not
// found in m10.
func Carries(text, marker string) bool {
	if marker == "" {
		return false
	}
	for i := 0; ; {
		j := strings.Index(text[i:], marker)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(marker)
		if (start == 0 || !isAlnum(text[start-1])) && (end == len(text) || !isAlnum(text[end])) {
			return true
		}
		i = start + 1
	}
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// markersIn lists the markers text carries.
func markersIn(text string, markers []string) []string {
	var out []string
	for _, m := range markers {
		if Carries(text, m) {
			out = append(out, m)
		}
	}
	return out
}

// CheckMarkers checks, for every marker X, that exactly one parent span
// carries X, that the expected number of child spans carry X, and that each
// of them is a direct child of that parent: a child linked to another
// marker's parent (cross-linking), to no span at all, or carrying two
// markers is an error. It returns one error per violation, nil if none.
func (f *Forest) CheckMarkers(c MarkerCheck) []error {
	parentText, childText := c.ParentText, c.ChildText
	if parentText == nil {
		parentText = ServerURL
	}
	if childText == nil {
		childText = ClientURL
	}
	var errs []error
	parentOf := map[string]*Node{} // marker -> its parent span
	markerOf := map[*Node]string{} // parent span -> its marker
	for _, p := range f.Find(c.Parent) {
		ms := markersIn(parentText(p), c.Markers)
		if len(ms) > 1 {
			errs = append(errs, fmt.Errorf("parent %v carries several markers %q", p, ms))
			continue
		}
		if len(ms) == 0 {
			continue
		}
		if prev, dup := parentOf[ms[0]]; dup {
			errs = append(errs, fmt.Errorf("marker %s is carried by two parents: %v and %v", ms[0], prev, p))
			continue
		}
		parentOf[ms[0]] = p
		markerOf[p] = ms[0]
	}

	children := map[string]int{}
	for _, ch := range f.Find(c.Child) {
		ms := markersIn(childText(ch), c.Markers)
		if len(ms) > 1 {
			errs = append(errs, fmt.Errorf("child %v carries several markers %q", ch, ms))
			continue
		}
		if len(ms) == 0 {
			continue
		}
		m := ms[0]
		children[m]++
		want := parentOf[m]
		switch {
		case want == nil:
			// reported once per marker below
		case ch.Parent == want:
		case ch.Parent == nil:
			errs = append(errs, fmt.Errorf("marker %s: %v has no parent in the output (parent id %q), want %v",
				m, ch, ch.Span.ParentSpanID(), want))
		case markerOf[ch.Parent] != "":
			errs = append(errs, fmt.Errorf("marker %s: %v is linked to %v of marker %s (cross-linked), want %v",
				m, ch, ch.Parent, markerOf[ch.Parent], want))
		default:
			errs = append(errs, fmt.Errorf("marker %s: %v is a child of %v, want %v", m, ch, ch.Parent, want))
		}
	}

	for _, m := range c.Markers {
		if parentOf[m] == nil {
			errs = append(errs, fmt.Errorf("marker %s: no parent span carries it", m))
		}
		switch n := children[m]; {
		case c.ChildrenPerMarker == 0 && n == 0:
			errs = append(errs, fmt.Errorf("marker %s: no child span carries it", m))
		case c.ChildrenPerMarker > 0 && n != c.ChildrenPerMarker:
			errs = append(errs, fmt.Errorf("marker %s: %d child spans carry it, want %d", m, n, c.ChildrenPerMarker))
		}
	}
	return errs
}

// ClientCalls is the MarkerCheck for requests to path whose handler makes
// HTTP client calls carrying the marker in their URL.
func ClientCalls(path string, markers []string, perMarker int) MarkerCheck {
	return MarkerCheck{
		Markers:           markers,
		Parent:            Server(path),
		Child:             Kind(ptrace.SpanKindClient),
		ChildrenPerMarker: perMarker,
	}
}
