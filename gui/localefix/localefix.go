package localefix

import (
	"os"
	"strings"
)

func init() { Apply() }

// Apply sets LANGUAGE=en when the effective locale (LC_ALL, LC_MESSAGES,
// LANG, the first one set) is C.<charset> or POSIX.<charset> and LANGUAGE
// is not set. It reports whether it changed anything.
func Apply() bool {
	if os.Getenv("LANGUAGE") != "" {
		return false
	}
	var loc string
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if loc = os.Getenv(v); loc != "" {
			break
		}
	}
	base, _, hasCharset := strings.Cut(loc, ".")
	if !hasCharset || (base != "C" && base != "POSIX") {
		return false
	}
	return os.Setenv("LANGUAGE", "en") == nil
}
