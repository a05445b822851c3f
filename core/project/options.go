package project

import (
	"fmt"
	"strconv"
	"strings"
)

// Known support option keys (per-user "Key=Value" lines).
var supportKeys = map[string]string{
	"foldermapping":      "FolderMapping",
	"folderfilter":       "FolderFilter",
	"allowquoteinfolder": "AllowQuoteInFolder",
	"maxitemsizemb":      "MaxItemSizeMB",
}

// SupportOptions are the parsed per-user support options.
type SupportOptions struct {
	FolderMapping      []string
	FolderFilter       string
	AllowQuoteInFolder bool
	MaxItemSizeMB      int
}

// ParseSupportOptions parses "Key=Value" lines; an unknown key, a bad value
// or a bad regex is an error naming the line.
func ParseSupportOptions(lines []string) (SupportOptions, error) {
	var so SupportOptions
	for i, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return so, fmt.Errorf("option %d %q: want Key=Value", i+1, line)
		}
		key, known := supportKeys[strings.ToLower(strings.TrimSpace(k))]
		if !known {
			return so, fmt.Errorf("option %d: unknown key %q (known: FolderMapping, FolderFilter, AllowQuoteInFolder, MaxItemSizeMB)", i+1, strings.TrimSpace(k))
		}
		v = strings.TrimSpace(v)
		switch key {
		case "FolderMapping":
			if _, _, err := ParseMappingRule(v); err != nil {
				return so, fmt.Errorf("option %d: %w", i+1, err)
			}
			so.FolderMapping = append(so.FolderMapping, v)
		case "FolderFilter":
			v = strings.Trim(v, `"`)
			if err := (Options{MaxConcurrentUsers: 1, FolderFilter: v}).Validate(); err != nil {
				return so, fmt.Errorf("option %d: %w", i+1, err)
			}
			so.FolderFilter = v
		case "AllowQuoteInFolder":
			so.AllowQuoteInFolder = v == "1" || strings.EqualFold(v, "true")
			if !so.AllowQuoteInFolder && v != "0" && !strings.EqualFold(v, "false") {
				return so, fmt.Errorf("option %d: AllowQuoteInFolder must be 0 or 1", i+1)
			}
		case "MaxItemSizeMB":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return so, fmt.Errorf("option %d: MaxItemSizeMB must be a positive whole number", i+1)
			}
			so.MaxItemSizeMB = n
		}
	}
	return so, nil
}
