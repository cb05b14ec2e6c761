package deploy

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"rose-ash.com/platform/shared/boot"
	"rose-ash.com/platform/shared/config"
)

// stackEnv is what an operator's .env gives docker stack deploy.
func stackEnv() map[string]string {
	return map[string]string{
		"REGISTRY":       "registry.example.org/roseash",
		"DOMAIN":         "example.org",
		"SMTP_HOST":      "smtp.example.org",
		"CONFIG_VERSION": "0123456789ab",
	}
}

// loadStack loads ../docker-compose.yml with the Compose specification's
// loader, interpolating env, as the stack "coop".
func loadStack(env map[string]string) (*types.Project, error) {
	details := types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, "docker-compose.yml")}},
		Environment: env,
	}
	return loader.LoadWithContext(context.Background(), details, func(o *loader.Options) {
		o.SetProjectName("coop", true)
		o.ResolvePaths = true
	})
}

func mustLoadStack(t *testing.T) *types.Project {
	t.Helper()
	p, err := loadStack(stackEnv())
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	return p
}

// env returns a service's environment variable ("" when unset).
func env(s types.ServiceConfig, name string) string {
	if v := s.Environment[name]; v != nil {
		return *v
	}
	return ""
}

func TestStackHasTheSixServicesPostgresAndRedis(t *testing.T) {
	p := mustLoadStack(t)
	want := append(slices.Clone(services), "postgres", "redis")
	got := p.ServiceNames()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("stack services %q, want %q", got, want)
	}
}

// Each of the six: its image from $REGISTRY, its health check through its
// binary, its secrets as files named by *_FILE, the app config mounted where
// CONFIG_FILE points, a rolling start-first update that rolls back, a
// restart policy, resource limits, and the stack's network.
func TestStackServices(t *testing.T) {
	p := mustLoadStack(t)
	for _, name := range services {
		t.Run(name, func(t *testing.T) {
			s, ok := p.Services[name]
			if !ok {
				t.Fatalf("no service %s", name)
			}
			if want := "registry.example.org/roseash/" + name + ":latest"; s.Image != want {
				t.Errorf("image %q, want %q", s.Image, want)
			}

			hc := s.HealthCheck
			if hc == nil || hc.Disable {
				t.Fatal("no healthcheck")
			}
			if want := []string{"CMD", "/usr/local/bin/" + name, "healthcheck"}; !slices.Equal(hc.Test, want) {
				t.Errorf("healthcheck %q, want %q", hc.Test, want)
			}
			if hc.Interval == nil || hc.Timeout == nil || hc.Retries == nil || hc.StartPeriod == nil {
				t.Errorf("healthcheck lacks interval, timeout, retries or start_period: %+v", hc)
			} else if time.Duration(*hc.StartPeriod) < time.Duration(60*time.Second) {
				t.Errorf("healthcheck start_period %s is shorter than the 60s wait for PostgreSQL", time.Duration(*hc.StartPeriod))
			}

			// Secrets: every *_FILE names a secret mounted into this service.
			mounted := map[string]bool{}
			for _, sec := range s.Secrets {
				target := sec.Target
				if target == "" {
					target = sec.Source
				}
				if !strings.HasPrefix(target, "/") {
					target = "/run/secrets/" + target
				}
				mounted[target] = true
				decl, ok := p.Secrets[sec.Source]
				if !ok || !bool(decl.External) || !strings.HasPrefix(decl.Name, "roseash_") {
					t.Errorf("secret %s: %+v, want an external Docker secret named roseash_*", sec.Source, decl)
				}
			}
			for _, v := range []string{"DATABASE_URL_FILE", "REDIS_URL_FILE", "SECRET_KEY_FILE", "SMTP_PASSWORD_FILE"} {
				if f := env(s, v); !mounted[f] {
					t.Errorf("%s=%q is not a mounted secret (mounted: %v)", v, f, mounted)
				}
			}
			for k, v := range s.Environment {
				if strings.HasSuffix(k, "_FILE") && k != "CONFIG_FILE" && (v == nil || !mounted[*v]) {
					t.Errorf("%s names no mounted secret", k)
				}
				if !strings.HasSuffix(k, "_FILE") && v != nil && strings.Contains(strings.ToLower(k), "password") {
					t.Errorf("%s is a password in the environment; use %s_FILE and a secret", k, k)
				}
			}
			for _, bare := range []string{"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "GHOST_CONTENT_KEY", "GHOST_WEBHOOK_SECRET", "SMTP_PASSWORD", "SUMUP_API_KEY"} {
				if _, set := s.Environment[bare]; set {
					t.Errorf("%s is set in the environment; secrets come only from files", bare)
				}
			}

			if len(s.Configs) != 1 || s.Configs[0].Source != "app_config" || s.Configs[0].Target != env(s, "CONFIG_FILE") || env(s, "CONFIG_FILE") == "" {
				t.Errorf("configs %+v with CONFIG_FILE=%q, want app_config mounted at CONFIG_FILE", s.Configs, env(s, "CONFIG_FILE"))
			}

			d := s.Deploy
			if d == nil || d.UpdateConfig == nil {
				t.Fatal("no deploy.update_config")
			}
			if d.Replicas == nil || *d.Replicas < 1 {
				t.Errorf("replicas %v", d.Replicas)
			}
			u := d.UpdateConfig
			if u.Order != "start-first" || u.FailureAction != "rollback" || u.Parallelism == nil || *u.Parallelism != 1 {
				t.Errorf("update_config %+v, want parallelism 1, order start-first, failure_action rollback", u)
			}
			if d.RollbackConfig == nil {
				t.Error("no rollback_config")
			}
			if d.RestartPolicy == nil || d.RestartPolicy.Condition == "" || d.RestartPolicy.Condition == "none" {
				t.Errorf("restart_policy %+v", d.RestartPolicy)
			}
			if lim := d.Resources.Limits; lim == nil || lim.MemoryBytes <= 0 || lim.NanoCPUs <= 0 {
				t.Errorf("resources.limits %+v, want memory and cpus", lim)
			}
			if _, ok := s.Networks["roseash"]; !ok {
				t.Errorf("networks %v, want roseash", s.Networks)
			}
			if len(s.Ports) != 1 || s.Ports[0].Target != 8000 {
				t.Errorf("ports %+v, want the service's port 8000 published once", s.Ports)
			}
			if got := env(s, strings.ToUpper(name)+"_LISTEN_ADDR"); got != "0.0.0.0:8000" {
				t.Errorf("%s_LISTEN_ADDR=%q, want 0.0.0.0:8000", strings.ToUpper(name), got)
			}
			// Every service reaches every other at its stack name.
			for _, other := range services {
				prefix := strings.ToUpper(other)
				if got, want := env(s, prefix+"_INTERNAL_URL"), "http://"+other+":8000"; got != want {
					t.Errorf("%s_INTERNAL_URL=%q, want %q", prefix, got, want)
				}
				if got, want := env(s, prefix+"_PUBLIC_URL"), "https://"+other+".example.org"; got != want {
					t.Errorf("%s_PUBLIC_URL=%q, want %q", prefix, got, want)
				}
			}
			if env(s, "APP_ENV") != "production" {
				t.Errorf("APP_ENV=%q, want production", env(s, "APP_ENV"))
			}
		})
	}
}

// Only the blog migrates.
func TestStackOnlyBlogRunsMigrations(t *testing.T) {
	p := mustLoadStack(t)
	var migrating []string
	for name, s := range p.Services {
		if v, ok := s.Environment["RUN_MIGRATIONS"]; ok && v != nil {
			if on, _ := strconv.ParseBool(*v); on {
				migrating = append(migrating, name)
			}
		}
	}
	if !slices.Equal(migrating, []string{"blog"}) {
		t.Errorf("RUN_MIGRATIONS=true on %q, want only blog", migrating)
	}
}

// Each service's environment, with its secret files and config mount, is
// accepted by the platform's own config loader and gives what the stack
// needs: production, listening on the published port, the stack's URLs.
func TestStackEnvironmentLoadsAsConfig(t *testing.T) {
	p := mustLoadStack(t)
	secretsDir := t.TempDir()
	secretValues := map[string]string{
		"database_url": "postgres://roseash:pw@postgres:5432/roseash?sslmode=disable",
		"redis_url":    "redis://redis:6379/0",
		"secret_key":   "a-secret-key-that-is-long-enough-0123456789",
	}
	for _, name := range services {
		s := p.Services[name]
		vars := map[string]string{}
		for k, v := range s.Environment {
			if v != nil {
				vars[k] = *v
			}
		}
		// What Swarm mounts, laid out here.
		for _, sec := range s.Secrets {
			f := filepath.Join(secretsDir, sec.Source)
			value := secretValues[sec.Source]
			if value == "" {
				value = "placeholder-" + sec.Source
			}
			if err := os.WriteFile(f, []byte(value+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			for k, v := range vars {
				if v == "/run/secrets/"+sec.Source {
					vars[k] = f
				}
			}
		}
		vars["CONFIG_FILE"] = p.Configs["app_config"].File
		cfg, err := config.Load(func(k string) string { return vars[k] })
		if err != nil {
			t.Errorf("%s: the stack's environment does not load: %v", name, err)
			continue
		}
		if !cfg.Production() || cfg.Service(name).ListenAddr != "0.0.0.0:8000" || cfg.Mail.Transport != "smtp" {
			t.Errorf("%s: production=%v listen=%q mail=%q", name, cfg.Production(), cfg.Service(name).ListenAddr, cfg.Mail.Transport)
		}
		if d := s.Deploy; d == nil || d.Replicas == nil || cfg.Database.Replicas != *d.Replicas {
			t.Errorf("%s: DATABASE_REPLICAS=%d does not match the service's replicas, so its logged connection budget is wrong", name, cfg.Database.Replicas)
		}
		if b := boot.ConnectionBudget(cfg, name); b.Rolling+20 > postgresMaxConnections(t, p) {
			t.Errorf("%s: the stack may hold %d PostgreSQL connections during a rolling update, too close to max_connections=%d",
				name, b.Rolling, postgresMaxConnections(t, p))
		}
		if cfg.RunMigrations != (name == "blog") {
			t.Errorf("%s: run_migrations=%v", name, cfg.RunMigrations)
		}
		if cfg.SecretKey != secretValues["secret_key"] || cfg.DatabaseURL != secretValues["database_url"] {
			t.Errorf("%s: secrets not read from their files", name)
		}
		if name == "blog" && cfg.GhostContentKey != "placeholder-ghost_content_key" {
			t.Errorf("blog: Ghost content key %q, want it read from its secret", cfg.GhostContentKey)
		}
	}
}

// The blog's uploads live on a volume at MEDIA_DIR; the cart gets SumUp's key.
func TestStackServiceSpecifics(t *testing.T) {
	p := mustLoadStack(t)
	blog := p.Services["blog"]
	media := env(blog, "MEDIA_DIR")
	if !slices.ContainsFunc(blog.Volumes, func(v types.ServiceVolumeConfig) bool {
		return v.Type == "volume" && v.Source == "media" && v.Target == media
	}) || media == "" {
		t.Errorf("blog volumes %+v, want the media volume at MEDIA_DIR=%q", blog.Volumes, media)
	}
	hasSecret := func(s types.ServiceConfig, name string) bool {
		return slices.ContainsFunc(s.Secrets, func(x types.ServiceSecretConfig) bool { return x.Source == name })
	}
	for _, sec := range []string{"ghost_content_key", "ghost_webhook_secret"} {
		if !hasSecret(blog, sec) {
			t.Errorf("blog lacks secret %s", sec)
		}
	}
	if cart := p.Services["cart"]; !hasSecret(cart, "sumup_api_key") || env(cart, "SUMUP_API_KEY_FILE") != "/run/secrets/sumup_api_key" {
		t.Error("cart lacks the SumUp API key secret")
	}
	for _, name := range others("cart") {
		if hasSecret(p.Services[name], "sumup_api_key") {
			t.Errorf("%s gets SumUp's key, which only the cart needs", name)
		}
	}
	if n := p.Networks["roseash"]; n.Driver != "overlay" || !n.Attachable {
		t.Errorf("network roseash %+v, want an attachable overlay", n)
	}
	// The config object's name follows the file's content (deploy.sh sets
	// CONFIG_VERSION), as Swarm configs cannot change in place.
	c := p.Configs["app_config"]
	if c.Name != "roseash_app_config_0123456789ab" {
		t.Errorf("app config name %q, want it to carry CONFIG_VERSION", c.Name)
	}
	if got, _ := filepath.Abs(c.File); got != absPath(t, config.DefaultFile) {
		t.Errorf("app config file %q, want the repository's %s", c.File, config.DefaultFile)
	}
}

func TestStackPostgresAndRedis(t *testing.T) {
	p := mustLoadStack(t)
	pg := p.Services["postgres"]
	if !strings.HasPrefix(pg.Image, "postgres:16") {
		t.Errorf("postgres image %q, want postgres:16", pg.Image)
	}
	if !slices.ContainsFunc(pg.Volumes, func(v types.ServiceVolumeConfig) bool {
		return v.Type == "volume" && v.Target == "/var/lib/postgresql/data"
	}) {
		t.Errorf("postgres volumes %+v, want a named volume for its data", pg.Volumes)
	}
	if pw := env(pg, "POSTGRES_PASSWORD_FILE"); pw != "/run/secrets/postgres_password" || len(pg.Secrets) != 1 || pg.Secrets[0].Source != "postgres_password" {
		t.Errorf("postgres password from %q with secrets %+v", pw, pg.Secrets)
	}
	rd := p.Services["redis"]
	if !strings.HasPrefix(rd.Image, "redis:7") {
		t.Errorf("redis image %q, want redis:7", rd.Image)
	}
	if !slices.ContainsFunc(rd.Volumes, func(v types.ServiceVolumeConfig) bool { return v.Type == "volume" }) {
		t.Errorf("redis volumes %+v, want a named volume", rd.Volumes)
	}
	for _, s := range []types.ServiceConfig{pg, rd} {
		if s.HealthCheck == nil || len(s.HealthCheck.Test) == 0 || s.HealthCheck.Disable {
			t.Errorf("%s has no healthcheck", s.Name)
		}
		if len(s.Ports) > 0 {
			t.Errorf("%s publishes %+v; it must be reachable only inside the stack", s.Name, s.Ports)
		}
		if s.Deploy == nil || s.Deploy.UpdateConfig == nil || s.Deploy.UpdateConfig.Order != "stop-first" || len(s.Deploy.Placement.Constraints) == 0 {
			t.Errorf("%s: want stop-first updates and placement on the node that holds its volume", s.Name)
		}
		if _, ok := s.Networks["roseash"]; !ok {
			t.Errorf("%s is not on the roseash network", s.Name)
		}
	}
}

// A missing required setting stops the deploy with a message naming it.
func TestStackRequiresItsSettings(t *testing.T) {
	for _, name := range []string{"REGISTRY", "DOMAIN", "SMTP_HOST"} {
		e := stackEnv()
		delete(e, name)
		_, err := loadStack(e)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("without %s: %v, want an error naming it", name, err)
		}
	}
}

// postgresMaxConnections returns the max_connections the stack's PostgreSQL
// is started with (100, PostgreSQL's default, when not set).
func postgresMaxConnections(t *testing.T, p *types.Project) int {
	t.Helper()
	for _, arg := range p.Services["postgres"].Command {
		if v, ok := strings.CutPrefix(arg, "max_connections="); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("postgres max_connections=%q", v)
			}
			return n
		}
	}
	return 100
}
