package cli

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// secretFlags are the ways a secret may reach the CLI: the name of an
// environment variable, or one line on standard input. Never a flag value.
type secretFlags struct {
	envName  string // flag name for the env variant, e.g. "password-env"
	stdinArg string // flag name for the stdin variant, e.g. "password-stdin"
	env      string
	stdin    bool
}

// addSecretFlags registers --<kind>-env VAR and --<kind>-stdin on fs.
func addSecretFlags(fs *flag.FlagSet, kind, what string) *secretFlags {
	s := &secretFlags{envName: kind + "-env", stdinArg: kind + "-stdin"}
	fs.StringVar(&s.env, s.envName, "", "read the "+what+" from environment variable `VAR`")
	fs.BoolVar(&s.stdin, s.stdinArg, false, "read the "+what+" from the first line of standard input")
	return s
}

// given reports whether a secret was asked for on the command line.
func (s *secretFlags) given() bool { return s.env != "" || s.stdin }

// read returns the secret, or nil when none was asked for. An unset or
// empty environment variable, or an empty line on stdin, is an error.
func (s *secretFlags) read(e *env, usage string) ([]byte, error) {
	if s.env != "" && s.stdin {
		return nil, usagef(usage, "use either --%s or --%s, not both", s.envName, s.stdinArg)
	}
	switch {
	case s.env != "":
		v, ok := os.LookupEnv(s.env)
		if !ok {
			return nil, fmt.Errorf("--%s: environment variable %s is not set", s.envName, s.env)
		}
		if v == "" {
			return nil, fmt.Errorf("--%s: environment variable %s is empty", s.envName, s.env)
		}
		return []byte(v), nil
	case s.stdin:
		line, err := readLine(e.stdin)
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", s.stdinArg, err)
		}
		return line, nil
	}
	return nil, nil
}

// readLine reads the first line of r without its line ending.
func readLine(r io.Reader) ([]byte, error) {
	if r == nil {
		return nil, errors.New("no standard input")
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return nil, errors.New("standard input held no secret (empty line)")
	}
	return []byte(line), nil
}
