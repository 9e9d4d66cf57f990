// Command composecheck loads a Compose file with compose-go, the reference implementation of
// the Compose specification, in the way `docker compose config` loads it: interpolation, schema
// validation, normalization, path resolution, consistency checks and env_file resolution.
// It prints the normalized model as JSON on success. It exits 1 with the loader's errors when
// the file is invalid, and 2 on bad usage.
//
// Usage:
//
//	composecheck [-strict] [-env-file-from OLD=NEW]... [FILE]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/sirupsen/logrus"
)

// envFileSubstitutions maps an env_file path, as written in the Compose file, to the file
// that is read in its place.
type envFileSubstitutions map[string]string

func (s envFileSubstitutions) String() string {
	pairs := make([]string, 0, len(s))
	for from, to := range s {
		pairs = append(pairs, from+"="+to)
	}
	return strings.Join(pairs, ",")
}

func (s envFileSubstitutions) Set(value string) error {
	from, to, found := strings.Cut(value, "=")
	if !found || from == "" || to == "" {
		return fmt.Errorf("invalid value %q: expected OLD=NEW", value)
	}
	s[from] = to
	return nil
}

// warningCollector keeps every warning the loader logs, so that -strict can fail on them.
type warningCollector struct{ messages []string }

func (c *warningCollector) Levels() []logrus.Level {
	return []logrus.Level{logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel,
		logrus.WarnLevel}
}

func (c *warningCollector) Fire(entry *logrus.Entry) error {
	c.messages = append(c.messages, entry.Message)
	return nil
}

func main() {
	substitutions := envFileSubstitutions{}
	flag.Var(substitutions, "env-file-from",
		"read the service env_file OLD from NEW instead (paths relative to the project "+
			"directory); repeatable")
	strict := flag.Bool("strict", false, "also fail when the loader logs a warning")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(),
			"usage: composecheck [-strict] [-env-file-from OLD=NEW]... [FILE]\n"+
				"FILE defaults to docker-compose.yml in the current directory.\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 1 {
		flag.Usage()
		os.Exit(2)
	}
	file := "docker-compose.yml"
	if flag.NArg() == 1 {
		file = flag.Arg(0)
	}

	warnings := &warningCollector{}
	logrus.AddHook(warnings)
	model, err := loadModel(context.Background(), file, substitutions)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s is invalid: %v\n", file, err)
		os.Exit(1)
	}
	if *strict && len(warnings.messages) > 0 {
		fmt.Fprintf(os.Stderr, "%s loaded with warnings (-strict):\n  %s\n", file,
			strings.Join(warnings.messages, "\n  "))
		os.Exit(1)
	}
	fmt.Println(string(model))
}

// loadModel loads, validates and normalizes the Compose file and returns its model as JSON.
func loadModel(ctx context.Context, file string, substitutions envFileSubstitutions) ([]byte,
	error) {
	// The options `docker compose config` passes (docker/compose, cmd/compose), except that
	// service env_files are resolved after the substitutions below.
	options, err := cli.NewProjectOptions([]string{file},
		cli.WithOsEnv,
		cli.WithEnvFiles(),
		cli.WithDotEnv,
		cli.WithDefaultProfiles(),
		cli.WithInterpolation(true),
		cli.WithResolvedPaths(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithoutEnvironmentResolution,
	)
	if err != nil {
		return nil, err
	}
	project, err := options.LoadProject(ctx)
	if err != nil {
		return nil, err
	}
	if err := substituteEnvFiles(project, substitutions); err != nil {
		return nil, err
	}
	project, err = project.WithServicesEnvironmentResolved(true)
	if err != nil {
		return nil, err
	}
	return project.MarshalJSON()
}

// substituteEnvFiles points every service env_file named in substitutions at its replacement.
// A substitution that matches no service is an error, so a renamed env_file is not missed.
func substituteEnvFiles(project *types.Project, substitutions envFileSubstitutions) error {
	var unused []string
	for from, to := range substitutions {
		fromPath := resolve(project.WorkingDir, from)
		toPath := resolve(project.WorkingDir, to)
		matched := false
		for name, service := range project.Services {
			for index, envFile := range service.EnvFiles {
				if envFile.Path == fromPath {
					service.EnvFiles[index].Path = toPath
					matched = true
				}
			}
			project.Services[name] = service
		}
		if !matched {
			unused = append(unused, from)
		}
	}
	if len(unused) > 0 {
		return errors.New("-env-file-from: no service reads the env_file " +
			strings.Join(unused, ", ") + ". Check the path against the Compose file.")
	}
	return nil
}

func resolve(workingDir, path string) string {
	if filepath.IsAbs(path) {
		return filepath.Clean(path)
	}
	return filepath.Join(workingDir, path)
}
