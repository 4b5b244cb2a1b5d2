// Package providertest holds the parser-independent pieces the providers'
// test kits (the providers/<agent>/<agent>test packages) share: the text pool
// generated transcripts are cut from, and the Expected figures a reference
// counter produces for one session.
//
// Like the kits, it must never import a provider or its parsing code: a kit
// that shared code with the parser it checks would agree with the parser's
// bugs. It imports only session.
package providertest
