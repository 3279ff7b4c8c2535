// Package tracetree rebuilds span trees from otrace's output, which spreads
// one trace over many lines and writes children before their parents, and
// checks what a correct tracer guarantees about them: parents exist (or are
// marked remote), no span is linked into another request's tree, children
// fit inside their parents.
//
// Build a Forest from every decoded line, check Problems, then find the
// spans of one request with Find or ServerSpan and look at their Children;
// CheckMarkers does the whole "N concurrent requests, no cross-linking"
// check in one call.
package tracetree

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The span flags bits that say whether the parent is remote (OTLP
// trace.proto, SpanFlags): the first says the second is meaningful.
const (
	FlagHasIsRemote uint32 = 0x100
	FlagIsRemote    uint32 = 0x200
)

// Node is one span in its tree.
type Node struct {
	Span     ptrace.Span
	Resource pcommon.Resource
	Parent   *Node   // nil for a root, a remote parent or a missing one
	Children []*Node // by start time
}

// Forest is every span of a set of output lines, by trace.
type Forest struct {
	nodes  []*Node // in input order
	traces map[pcommon.TraceID][]*Node
	// byID has one node per (trace, span id); dups lists the others.
	byID map[spanKey]*Node
	dups []*Node
}

type spanKey struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
}

// New indexes the spans of tds (typically one ptrace.Traces per output
// line) and links each span to its parent. The spans are not copied: tds
// must not change afterwards.
func New(tds ...ptrace.Traces) *Forest {
	f := &Forest{traces: map[pcommon.TraceID][]*Node{}, byID: map[spanKey]*Node{}}
	for _, td := range tds {
		rss := td.ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			rs := rss.At(i)
			sss := rs.ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				spans := sss.At(j).Spans()
				for k := 0; k < spans.Len(); k++ {
					f.add(&Node{Span: spans.At(k), Resource: rs.Resource()})
				}
			}
		}
	}
	for _, n := range f.nodes {
		if p := f.parentOf(n); p != nil && p != n {
			n.Parent = p
			p.Children = append(p.Children, n)
		}
	}
	for _, n := range f.nodes {
		sort.SliceStable(n.Children, func(i, j int) bool {
			return n.Children[i].Span.StartTimestamp() < n.Children[j].Span.StartTimestamp()
		})
	}
	return f
}

func (f *Forest) add(n *Node) {
	f.nodes = append(f.nodes, n)
	tid := n.Span.TraceID()
	f.traces[tid] = append(f.traces[tid], n)
	k := spanKey{tid, n.Span.SpanID()}
	if _, dup := f.byID[k]; dup {
		f.dups = append(f.dups, n)
		return
	}
	f.byID[k] = n
}

// parentOf is the span n names as its parent, in n's own trace.
func (f *Forest) parentOf(n *Node) *Node {
	pid := n.Span.ParentSpanID()
	if pid.IsEmpty() {
		return nil
	}
	return f.byID[spanKey{n.Span.TraceID(), pid}]
}

// Nodes returns every span, in input order.
func (f *Forest) Nodes() []*Node { return f.nodes }

// Len is the number of spans.
func (f *Forest) Len() int { return len(f.nodes) }

// Roots returns the spans without a parent in the forest (true roots,
// remote parents and missing ones alike), by start time.
func (f *Forest) Roots() []*Node {
	var roots []*Node
	for _, n := range f.nodes {
		if n.Parent == nil {
			roots = append(roots, n)
		}
	}
	sort.SliceStable(roots, func(i, j int) bool {
		return roots[i].Span.StartTimestamp() < roots[j].Span.StartTimestamp()
	})
	return roots
}

// RemoteParent reports whether n's flags mark its parent as remote, the
// one case where a parent id may name a span that is not in the output.
func (n *Node) RemoteParent() bool {
	f := n.Span.Flags()
	return f&FlagHasIsRemote != 0 && f&FlagIsRemote != 0
}

// Problems checks the invariants that hold for any correct output:
//   - every span has a trace id and a span id, and no (trace id, span id)
//     appears twice;
//   - a parent span id names a span of the same trace, unless the span is
//     marked as having a remote parent; a parent found only in another
//     trace is reported as such;
//   - no span is its own ancestor;
//   - no span ends before it starts.
//
// It returns one error per violation, nil when there is none.
func (f *Forest) Problems() []error {
	var errs []error
	for _, n := range f.nodes {
		s := n.Span
		if s.TraceID().IsEmpty() {
			errs = append(errs, fmt.Errorf("%v has no trace id", n))
		}
		if s.SpanID().IsEmpty() {
			errs = append(errs, fmt.Errorf("%v has no span id", n))
		}
		if s.EndTimestamp() < s.StartTimestamp() {
			errs = append(errs, fmt.Errorf("%v ends %v before it starts", n,
				time.Duration(s.StartTimestamp()-s.EndTimestamp())))
		}
		if pid := s.ParentSpanID(); !pid.IsEmpty() && n.Parent == nil {
			switch {
			case pid == s.SpanID():
				errs = append(errs, fmt.Errorf("%v is its own parent", n))
			case n.RemoteParent():
			default:
				if other := f.inOtherTrace(n); other != nil {
					errs = append(errs, fmt.Errorf("%v names as parent %v of another trace", n, other))
				} else {
					errs = append(errs, fmt.Errorf("%v names parent %v, which is in no output line and not marked remote", n, pid))
				}
			}
		}
	}
	for _, n := range f.dups {
		errs = append(errs, fmt.Errorf("span id %v appears more than once in trace %v: %v", n.Span.SpanID(), n.Span.TraceID(), n))
	}
	errs = append(errs, f.cycles()...)
	return errs
}

// inOtherTrace finds a span of another trace whose id is n's parent id.
func (f *Forest) inOtherTrace(n *Node) *Node {
	pid := n.Span.ParentSpanID()
	for _, m := range f.nodes {
		if m.Span.SpanID() == pid && m.Span.TraceID() != n.Span.TraceID() {
			return m
		}
	}
	return nil
}

// cycles reports each span that is its own ancestor through other spans
// (parent ids a → b → a), which New links like any other parent.
func (f *Forest) cycles() []error {
	var errs []error
	for _, n := range f.nodes {
		seen := map[*Node]bool{n: true}
		for p := n.Parent; p != nil; p = p.Parent {
			if p == n {
				errs = append(errs, fmt.Errorf("%v is its own ancestor", n))
				break
			}
			if seen[p] {
				break // a cycle above n, reported for its members
			}
			seen[p] = true
		}
	}
	return errs
}

// NestingProblems checks that every child starts no earlier and ends no
// later than its parent, give or take slack. Not an invariant of every
// program (a goroutine may outlive the request that started it), but true
// wherever the handler waits for its calls, as the test fixtures do.
func (f *Forest) NestingProblems(slack time.Duration) []error {
	var errs []error
	sl := pcommon.Timestamp(slack)
	for _, n := range f.nodes {
		p := n.Parent
		if p == nil {
			continue
		}
		if n.Span.StartTimestamp()+sl < p.Span.StartTimestamp() {
			errs = append(errs, fmt.Errorf("%v starts %v before its parent %v", n,
				time.Duration(p.Span.StartTimestamp()-n.Span.StartTimestamp()), p))
		}
		if n.Span.EndTimestamp() > p.Span.EndTimestamp()+sl {
			errs = append(errs, fmt.Errorf("%v ends %v after its parent %v", n,
				time.Duration(n.Span.EndTimestamp()-p.Span.EndTimestamp()), p))
		}
	}
	return errs
}

// Match selects spans.
type Match func(*Node) bool

// Kind matches spans of kind k.
func Kind(k ptrace.SpanKind) Match {
	return func(n *Node) bool { return n.Span.Kind() == k }
}

// Attr matches spans whose attribute key, as a string, is value.
func Attr(key, value string) Match {
	return func(n *Node) bool {
		v, ok := n.Span.Attributes().Get(key)
		return ok && v.AsString() == value
	}
}

// Server matches the SERVER spans whose url.path is path.
func Server(path string) Match { return All(Kind(ptrace.SpanKindServer), Attr("url.path", path)) }

// All matches spans that every m matches.
func All(ms ...Match) Match {
	return func(n *Node) bool {
		for _, m := range ms {
			if !m(n) {
				return false
			}
		}
		return true
	}
}

// Find returns the spans m matches, in input order.
func (f *Forest) Find(m Match) []*Node {
	var out []*Node
	for _, n := range f.nodes {
		if m(n) {
			out = append(out, n)
		}
	}
	return out
}

// One returns the single span m matches, or an error saying how many did.
func (f *Forest) One(m Match) (*Node, error) {
	found := f.Find(m)
	if len(found) != 1 {
		return nil, fmt.Errorf("%d spans match, want 1: %v", len(found), found)
	}
	return found[0], nil
}

// ServerSpan returns the single SERVER span whose url.path is path and
// which m, if given, also matches: the span of one request.
func (f *Forest) ServerSpan(path string, m ...Match) (*Node, error) {
	return f.One(All(append([]Match{Server(path)}, m...)...))
}

// Attr returns the attribute key as a string, "" when absent.
func (n *Node) Attr(key string) string {
	v, ok := n.Span.Attributes().Get(key)
	if !ok {
		return ""
	}
	return v.AsString()
}

// Descendants returns every span below n, depth first.
func (n *Node) Descendants() []*Node {
	var out []*Node
	seen := map[*Node]bool{n: true} // a cycle must not loop forever
	var walk func(*Node)
	walk = func(m *Node) {
		for _, c := range m.Children {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
				walk(c)
			}
		}
	}
	walk(n)
	return out
}

// String names a span for error messages: kind, name, ids and the
// attributes that tell requests apart.
func (n *Node) String() string {
	if n == nil {
		return "<no span>"
	}
	s := n.Span
	var b strings.Builder
	fmt.Fprintf(&b, "%s span %q %v/%v", strings.ToUpper(s.Kind().String()), s.Name(), s.TraceID(), s.SpanID())
	for _, k := range []string{"url.path", "url.query", "url.full", "db.query.text", "db.statement", "rpc.method"} {
		if v := n.Attr(k); v != "" {
			fmt.Fprintf(&b, " %s=%q", k, v)
		}
	}
	return b.String()
}
