using Contrastive.Host;

// Under an MPI launcher the output is the launcher's forwarded stream (a pseudo-terminal for each rank), not a person's
// terminal: no terminal control sequences (.NET's console would write keypad mode codes into --json output) and no live
// display. Set before the console is first used.
if (Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null || Environment.GetEnvironmentVariable("SLURM_STEP_ID") is not null)
    Environment.SetEnvironmentVariable("TERM", "dumb");
return await Cli.RunAsync(args);
