package logging

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"unicode"

	"github.com/mailferry/mailferry/core/mailbox"
)

// Redacted replaces the value of a secret-looking attribute.
const Redacted = "[redacted]"

// MaxString is the longest string value logged as is; longer ones (a
// message body that slipped into a string) become "[N bytes]".
const MaxString = 4096

// secretWords are matched anywhere in a key ("smtpPassword", "X-Auth-Token").
var secretWords = []string{
	"password", "passwd", "passphrase", "secret", "token", "authorization",
	"cookie", "credential", "apikey", "privatekey", "bearer",
}

// secretTails are short words matched only as the key's last word, so that
// "admin_pass", "api_key", "basic_auth" are secret but "pass_name",
// "key_file", "auth_method" (a name, a path, a mechanism) are not.
var secretTails = []string{"pass", "pwd", "key", "auth", "pin"}

// IsSecretKey reports whether an attribute key looks like it holds a
// secret. Matching is case-insensitive; words are split at non-letters and
// camel-case humps.
func IsSecretKey(key string) bool {
	lower := strings.ToLower(key)
	for _, w := range secretWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	words := splitWords(key)
	if len(words) == 0 {
		return false
	}
	return slices.Contains(secretTails, words[len(words)-1])
}

// splitWords splits "smtpAdminPass" / "SMTP_ADMIN-pass" into lower-case
// words.
func splitWords(s string) []string {
	var words []string
	var cur []rune
	rs := []rune(s)
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	for i, c := range rs {
		switch {
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			flush()
			continue
		case unicode.IsUpper(c) && len(cur) > 0:
			prevLower := unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1])
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if prevLower || (unicode.IsUpper(rs[i-1]) && nextLower) {
				flush() // "smtpPass" → smtp|Pass, "APIKey" → API|Key
			}
		}
		cur = append(cur, c)
	}
	flush()
	return words
}

// Redact replaces every occurrence of each non-empty secret in s (also in
// its URL-escaped, IMAP-quoted and base64 forms, as servers and libraries
// echo them) by "[redacted]". Use it on error texts before they are logged
// or shown.
func Redact(s string, secrets ...string) string {
	var forms []string
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		forms = append(forms, sec,
			url.QueryEscape(sec), url.PathEscape(sec),
			strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(sec),
			base64.StdEncoding.EncodeToString([]byte(sec)),
			base64.RawStdEncoding.EncodeToString([]byte(sec)),
			base64.URLEncoding.EncodeToString([]byte(sec)))
	}
	// Longest first, so a secret containing another is removed whole.
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	for _, f := range slices.Compact(forms) {
		s = strings.ReplaceAll(s, f, Redacted)
	}
	return s
}

// redactingHandler wraps a slog.Handler; see the package comment.
type redactingHandler struct {
	inner slog.Handler
	// secretGroup: an open group (Logger.WithGroup) has a secret-looking
	// name, so every attribute below it is redacted.
	secretGroup bool
}

// NewRedactingHandler wraps inner so that secrets and message contents in
// attributes never reach it.
func NewRedactingHandler(inner slog.Handler) slog.Handler {
	return &redactingHandler{inner: inner}
}

func (h *redactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *redactingHandler) Handle(ctx context.Context, r slog.Record) error {
	nr := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		nr.AddAttrs(redactAttr(a, h.secretGroup))
		return true
	})
	return h.inner.Handle(ctx, nr)
}

func (h *redactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = redactAttr(a, h.secretGroup)
	}
	return &redactingHandler{inner: h.inner.WithAttrs(red), secretGroup: h.secretGroup}
}

func (h *redactingHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &redactingHandler{inner: h.inner.WithGroup(name), secretGroup: h.secretGroup || IsSecretKey(name)}
}

func redactAttr(a slog.Attr, secret bool) slog.Attr {
	v := a.Value.Resolve()
	if secret || IsSecretKey(a.Key) {
		if v.Kind() == slog.KindGroup && len(v.Group()) == 0 {
			return slog.Attr{} // empty groups vanish anyway
		}
		return slog.String(a.Key, Redacted)
	}
	switch v.Kind() {
	case slog.KindGroup:
		group := v.Group()
		red := make([]slog.Attr, 0, len(group))
		for _, g := range group {
			red = append(red, redactAttr(g, false))
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(red...)}
	case slog.KindString:
		if n := len(v.String()); n > MaxString {
			return slog.String(a.Key, fmt.Sprintf("[%d bytes]", n))
		}
	case slog.KindAny:
		return slog.Any(a.Key, redactAny(v.Any()))
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// redactAny returns a loggable stand-in for an arbitrary value.
func redactAny(x any) any {
	switch t := x.(type) {
	case nil:
		return nil
	case error:
		return t // its text is the caller's to clean with Redact
	case mailbox.Message:
		return fmt.Sprintf("[message uid=%d, %d bytes]", t.UID, len(t.Body))
	case *mailbox.Message:
		if t == nil {
			return nil
		}
		return fmt.Sprintf("[message uid=%d, %d bytes]", t.UID, len(t.Body))
	}
	rv := reflect.ValueOf(x)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return fmt.Sprintf("[%d bytes]", rv.Len())
		}
	case reflect.String:
		if rv.Len() > MaxString {
			return fmt.Sprintf("[%d bytes]", rv.Len())
		}
		return x
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return x
	case reflect.Func, reflect.Chan, reflect.UnsafePointer, reflect.Complex64, reflect.Complex128:
		return fmt.Sprintf("[%T]", x)
	}
	// Structs, maps, slices, pointers: scrub through their JSON form, which
	// is what the JSON handler would have written.
	b, err := json.Marshal(x)
	if err != nil {
		return fmt.Sprintf("[unloggable %T]", x)
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		return fmt.Sprintf("[unloggable %T]", x)
	}
	return scrubJSON(generic)
}

func scrubJSON(x any) any {
	switch t := x.(type) {
	case map[string]any:
		for k, v := range t {
			if IsSecretKey(k) {
				t[k] = Redacted
			} else {
				t[k] = scrubJSON(v)
			}
		}
		return t
	case []any:
		for i, v := range t {
			t[i] = scrubJSON(v)
		}
		return t
	case string:
		if len(t) > MaxString {
			return fmt.Sprintf("[%d bytes]", len(t))
		}
	}
	return x
}
