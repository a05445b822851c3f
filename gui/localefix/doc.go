// Package localefix keeps Fyne quiet under the "C.UTF-8" locale, the
// default of Debian and Ubuntu containers and of many CI runners.
//
// Fyne's lang package reads the locale in its init function (through
// github.com/jeandeaual/go-locale). go-locale treats "C" and "POSIX" as
// "no locale", but not "C.UTF-8": Fyne then fails to parse the language
// "C" and logs three "Fyne error" lines on stderr in every run, the
// headless CLI included (the binary links Fyne for the GUI, so its init
// runs whatever the command). This package's init sets LANGUAGE=en when
// the locale is C.<charset> or POSIX.<charset> and LANGUAGE is unset;
// go-locale then reports "en", which is what Fyne falls back to anyway.
// Nothing else is changed.
//
// It must run before Fyne's lang package. The Go spec initialises
// packages in import-path order among those whose imports are ready; this
// package imports only os and strings (initialised long before), and its
// path sorts before github.com/nicksnyder/go-i18n, which fyne/v2/lang
// imports, so its init always runs first. main imports it for that side
// effect; TestNoFyneNoise in cli checks the result on the real binary.
package localefix
