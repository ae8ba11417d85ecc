import KeywardCommands

await KeywardCommand.asyncMain()
