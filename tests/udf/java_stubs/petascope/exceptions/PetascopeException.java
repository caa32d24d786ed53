package petascope.exceptions;

public class PetascopeException extends Exception {
    public PetascopeException(String message) { super(message); }
}
