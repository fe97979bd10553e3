"""A full-screen curses program: a counter that ticks every 0.1 s, the
screen size it sees, and how many resize events (SIGWINCH) it has had. On
a resize it repaints the whole screen, as curses programs do: after a
restart on a new terminal the screen must come back with the counter
going on from where it was."""
import curses


def main(scr):
    curses.curs_set(0)
    scr.timeout(100)
    count, resizes = 0, 0
    while True:
        rows, cols = scr.getmaxyx()
        scr.addstr(0, 0, "ckpt curses demo")
        scr.addstr(2, 0, f"counter: {count}")
        scr.addstr(3, 0, f"size: {rows}x{cols}")
        scr.addstr(4, 0, f"resizes: {resizes}")
        scr.addstr(rows - 1, 0, "q quits")
        scr.refresh()
        key = scr.getch()
        if key == ord("q"):
            return
        if key == curses.KEY_RESIZE:
            resizes += 1
            scr.clearok(True)
        count += 1


curses.wrapper(main)
