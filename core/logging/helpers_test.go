package logging

import (
	"encoding/base64"
	"net/url"
)

func urlQuery(s string) string { return url.QueryEscape(s) }

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
