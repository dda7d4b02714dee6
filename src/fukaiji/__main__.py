from fukaiji.cli import app

app()
