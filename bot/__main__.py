"""`python -m bot`: the same as the `chokepoint` script."""

from bot.launch import run

run()
