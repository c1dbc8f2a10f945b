"""The CLI starts without TensorFlow or Ray Tune: commands that only talk to Redis or stop a
Ray job (status, list, trials, cancel) do not pay for them, nor do launch and resume when
they submit to a Ray job API, nor a job's driver that fails before the sweep starts."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("tensorflow", "keras", "ray.tune", "sweep.search", "sweep.model")
# what a sweep's spec needs is search's and model's configuration, not their training code
TRAINING = ("tensorflow", "keras", "ray.tune", "sklearn", "pandas", "sweep.search._driver")


def _imported_after(code: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {heavy!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


def test_the_cli_and_the_store_import_without_tensorflow_or_ray_tune():
    assert (
        _imported_after(
            "import sweep.cluster\nfrom sweep.cluster import main, RedisStateStore, Keys"
        )
        == []
    )


def test_the_cli_help_runs_without_tensorflow():
    code = (
        "from click.testing import CliRunner\nfrom sweep.cluster import main\n"
        "r = CliRunner().invoke(main, ['--help'])\nassert r.exit_code == 0, r.output\n"
        "assert 'launch' in r.output"
    )
    assert _imported_after(code) == []


def test_the_sweep_runner_loads_on_first_use():
    loaded = _imported_after("import sweep.cluster\nassert callable(sweep.cluster.execute_sweep)")
    assert "sweep.search" in loaded and "ray.tune" in loaded
    assert _imported_after("import sweep.cluster\nassert sweep.cluster.RedisStateCallback") != []


def test_a_job_driver_that_cannot_reach_redis_fails_before_importing_tensorflow(tmp_path):
    code = (
        "import os\nos.environ['SWEEP_REDIS_URL'] = 'redis://127.0.0.1:1'\n"
        f"os.environ['SWEEP_STATE_DIR'] = {str(tmp_path)!r}\n"
        "os.environ.pop('SWEEP_REDIS_PASSWORD_FILE', None)\n"
        "from click.testing import CliRunner\nfrom sweep.cluster.job import job\n"
        "r = CliRunner().invoke(job, ['run', 'abc'])\nassert r.exit_code == 1, r.output\n"
        "assert 'cannot reach Redis at redis://127.0.0.1:1' in r.output, r.output\n"
    )
    assert _imported_after(code) == []


def test_commands_that_only_read_redis_run_without_tensorflow(redis_url):
    code = (
        "from click.testing import CliRunner\nfrom sweep.cluster import main\n"
        f"url = {redis_url!r}\n"
        "r = CliRunner().invoke(main, ['list', '--redis-url', url])\n"
        "assert r.exit_code == 0, r.output\n"
        "for cmd in ('status', 'trials', 'cancel'):\n"
        "    r = CliRunner().invoke(main, [cmd, 'no-such-sweep', '--redis-url', url])\n"
        "    assert r.exit_code == 2 and 'no-such-sweep' in r.output, (cmd, r.output)\n"
    )
    assert _imported_after(code) == []


def test_launch_and_resume_to_a_job_api_parse_the_spec_without_tensorflow(redis_url):
    # port 1 has no Ray dashboard: launch refuses before recording anything (it asks the
    # cluster for its nodes first), resume refuses to submit
    code = (
        "from click.testing import CliRunner\nfrom sweep.cluster import main, RedisStateStore\n"
        "from sweep.search import parse_sweep_spec, spec_to_dict\n"
        f"url = {redis_url!r}\naddress = 'http://127.0.0.1:1'\n"
        "r = CliRunner().invoke(main, ['launch', '--address', address, '--trials', '2',\n"
        "    '--max-reviews', '200', '--redis-url', url, '--prefix', 'imports:'])\n"
        "assert r.exit_code == 2, r.output\n"
        "assert 'cannot list the nodes of the Ray cluster at http://127.0.0.1:1' in r.output\n"
        "store = RedisStateStore(url, prefix='imports:')\n"
        "assert store.list_sweeps() == []\n"
        "store.create_sweep('s-1', spec_to_dict(parse_sweep_spec({'trials': 2})), '/r')\n"
        "store.move('s-1', 'running')\n"
        "r = CliRunner().invoke(main, ['resume', 's-1', '--address', address,\n"
        "    '--redis-url', url, '--prefix', 'imports:'])\n"
        "assert r.exit_code == 2 and 'cannot reach Ray' in r.output, r.output\n"
    )
    assert _imported_after(code, TRAINING) == []
