// Package config holds the typed configuration of evsim's binaries and the
// flag set that fills it from the command line and the environment.
//
// Every flag also reads an environment variable: EVSIM_<FLAG> with dashes as
// underscores, unless a seed-compatible name is given (KAFKA_BOOTSTRAP,
// KAFKA_WAIT_MAX_ATTEMPTS, KAFKA_WAIT_SECONDS). A flag on the command line
// wins over its variable. A bad value is a *UsageError naming the flag (and
// the variable, when the value came from there); main exits 2 with it.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// UsageError is a bad flag or environment value; binaries exit 2 with it.
type UsageError struct {
	Flag string // flag name without dashes
	Env  string // the variable the value came from, if it did
	Msg  string
}

func (e *UsageError) Error() string {
	if e.Flag == "" {
		return e.Msg
	}
	if e.Env != "" {
		return fmt.Sprintf("invalid value for --%s (from %s): %s", e.Flag, e.Env, e.Msg)
	}
	return fmt.Sprintf("invalid value for --%s: %s", e.Flag, e.Msg)
}

// Usagef builds a UsageError for flag.
func Usagef(flagName, format string, args ...any) *UsageError {
	return &UsageError{Flag: flagName, Msg: fmt.Sprintf(format, args...)}
}

// IsUsage reports whether err is (or wraps) a UsageError or a request for help.
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

// ErrHelp is returned by Parse when -h or --help was given; usage has been printed.
var ErrHelp = flag.ErrHelp

// EnvName is the default variable for a flag: EVSIM_ and the name in capitals.
func EnvName(flagName string) string {
	return "EVSIM_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// FlagSet is a flag.FlagSet whose flags each have an environment variable.
type FlagSet struct {
	fs  *flag.FlagSet
	env map[string]string // flag name -> variable
	// Getenv reads the environment; tests replace it. Default os.LookupEnv.
	Getenv func(string) (string, bool)
}

// NewFlagSet returns an empty set for the named command.
func NewFlagSet(name string) *FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &FlagSet{fs: fs, env: map[string]string{}, Getenv: os.LookupEnv}
}

func (f *FlagSet) bind(name, env string) {
	if env == "" {
		env = EnvName(name)
	}
	f.env[name] = env
}

// String defines a string flag. env "" means EnvName(name).
func (f *FlagSet) String(p *string, name, env, def, usage string) {
	f.fs.StringVar(p, name, def, usage)
	f.bind(name, env)
}

// Int defines an int flag.
func (f *FlagSet) Int(p *int, name, env string, def int, usage string) {
	f.fs.IntVar(p, name, def, usage)
	f.bind(name, env)
}

// Int64 defines an int64 flag.
func (f *FlagSet) Int64(p *int64, name, env string, def int64, usage string) {
	f.fs.Int64Var(p, name, def, usage)
	f.bind(name, env)
}

// Float defines a float64 flag.
func (f *FlagSet) Float(p *float64, name, env string, def float64, usage string) {
	f.fs.Float64Var(p, name, def, usage)
	f.bind(name, env)
}

// Duration defines a Go duration flag (e.g. 30s, 1m30s).
func (f *FlagSet) Duration(p *time.Duration, name, env string, def time.Duration, usage string) {
	f.fs.DurationVar(p, name, def, usage)
	f.bind(name, env)
}

// Bool defines a bool flag.
func (f *FlagSet) Bool(p *bool, name, env string, def bool, usage string) {
	f.fs.BoolVar(p, name, def, usage)
	f.bind(name, env)
}

// Seconds defines a flag given in seconds, fractions allowed, stored as a duration.
func (f *FlagSet) Seconds(p *time.Duration, name, env string, def time.Duration, usage string) {
	*p = def
	f.fs.Func(name, fmt.Sprintf("%s (seconds, default %g)", usage, def.Seconds()), func(s string) error {
		var v float64
		if _, err := fmt.Sscan(s, &v); err != nil {
			return fmt.Errorf("%q is not a number of seconds", s)
		}
		if v < 0 {
			return fmt.Errorf("%q is negative", s)
		}
		*p = time.Duration(v * float64(time.Second))
		return nil
	})
	f.bind(name, env)
}

// Parse reads args, then fills every flag not given on the command line from
// its environment variable. It prints usage to stdout and returns ErrHelp for
// -h/--help; any other problem is a *UsageError.
func (f *FlagSet) Parse(args []string) error {
	if err := f.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			f.PrintUsage(os.Stdout)
			return ErrHelp
		}
		return &UsageError{Flag: flagInError(err.Error()), Msg: trimFlagError(err.Error())}
	}
	if f.fs.NArg() > 0 {
		return &UsageError{Msg: fmt.Sprintf("unexpected argument %q (flags start with --)", f.fs.Arg(0))}
	}
	given := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	names := make([]string, 0, len(f.env))
	for n := range f.env {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		if given[name] {
			continue
		}
		env := f.env[name]
		v, ok := f.Getenv(env)
		if !ok {
			continue
		}
		if err := f.fs.Set(name, v); err != nil {
			return &UsageError{Flag: name, Env: env, Msg: trimFlagError(err.Error())}
		}
	}
	return nil
}

// Args returns the non-flag arguments (always empty after a successful Parse).
func (f *FlagSet) Args() []string { return f.fs.Args() }

// PrintUsage writes every flag, its variable and default.
func (f *FlagSet) PrintUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage of %s:\n", f.fs.Name())
	f.fs.VisitAll(func(fl *flag.Flag) {
		def := ""
		if fl.DefValue != "" {
			def = fmt.Sprintf(" (default %s)", fl.DefValue)
		}
		fmt.Fprintf(w, "  --%s  [%s]\n      %s%s\n", fl.Name, f.env[fl.Name], fl.Usage, def)
	})
}

// flagInError pulls the flag name out of the standard library's messages,
// e.g. `invalid value "x" for flag -cps: parse error`.
func flagInError(msg string) string {
	for _, marker := range []string{"for flag -", "flag provided but not defined: -", "flag needs an argument: -"} {
		if i := strings.Index(msg, marker); i >= 0 {
			rest := strings.TrimLeft(msg[i+len(marker):], "-")
			if j := strings.IndexAny(rest, ": "); j >= 0 {
				rest = rest[:j]
			}
			return rest
		}
	}
	return ""
}

func trimFlagError(msg string) string {
	switch {
	case strings.HasPrefix(msg, "flag provided but not defined"):
		return "no such flag"
	case strings.HasPrefix(msg, "flag needs an argument"):
		return "needs a value"
	}
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	switch msg {
	case "parse error":
		return "not a valid value of this flag's type"
	case "value out of range":
		return "out of range"
	}
	return msg
}

// parse is what every binary's Parse function does: read args and the
// environment into fs, split the brokers list (when the role uses Kafka),
// then validate.
func parse(fs *FlagSet, args []string, getenv func(string) (string, bool), kafka *Kafka, validate func() error) error {
	if getenv != nil {
		fs.Getenv = getenv
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if kafka != nil {
		if err := kafka.Finish(); err != nil {
			return err
		}
	}
	return validate()
}
