package petascope.exceptions;

public class WCPSException extends PetascopeException {
    public WCPSException(ExceptionCode exceptionCode, String message) {
        super(exceptionCode.getExceptionCodeName() + ": " + message);
    }
}
