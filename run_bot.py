"""Entry point: `.venv/bin/python run_bot.py --help`."""

from bot.cli.main import main

if __name__ == "__main__":
    main()
